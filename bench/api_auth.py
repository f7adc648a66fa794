#!/usr/bin/env python
"""Cost of authentication + rate limiting + audit: GET /whoami against GET /health.

Starts gunicorn (2 sync workers) on the embedded default (SQLite in a temporary directory,
in-process cache) — and, when Redis answers on 127.0.0.1:6379, a second time with Redis as
the rate-limit cache — then drives both endpoints from the same client in alternating rounds
and prints requests/s, p50 and p99 latency and the throughput ratio, all from one run.

Both endpoints write a request-log row; /health also runs a database and a cache check,
/whoami looks the key up, checks it in constant time, counts it against the rate limit and
serialises the key. The bench key's rate is raised so the limiter counts but never refuses.

    .venv/bin/python bench/api_auth.py [--requests 2000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import gunicorn, manage, server_env  # noqa: E402


def one_request(host: str, port: int, path: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    finally:
        conn.close()
    return status, (time.perf_counter() - started) * 1000


def run_round(base_url: str, path: str, headers: dict, count: int, concurrency: int):
    host, port = base_url.removeprefix("http://").split(":")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(
            pool.map(lambda _i: one_request(host, int(port), path, headers), range(count))
        )
    elapsed = time.perf_counter() - started
    bad = [status for status, _ in results if status != 200]
    if bad:
        raise SystemExit(f"{path}: {len(bad)} non-200 responses, e.g. {bad[0]}")
    return count / elapsed, [latency for _, latency in results]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(label: str, env: dict, requests: int, concurrency: int, rounds: int) -> float:
    manage(env, "migrate", "--noinput")
    key = manage(
        env, "create_api_key", "--agent_id", "bench", "--rate_per_minute", "10000000"
    ).strip()
    stats: dict[str, dict] = {"/health": {"rps": [], "lat": []}, "/whoami": {"rps": [], "lat": []}}
    with gunicorn(env, workers=2) as base_url:
        run_round(base_url, "/health", {}, 200, concurrency)  # warm-up
        run_round(base_url, "/whoami", {"X-T4-API-KEY": key}, 200, concurrency)
        per_round = max(1, requests // rounds)
        for _ in range(rounds):  # alternate so machine noise hits both endpoints alike
            for path, headers in (("/health", {}), ("/whoami", {"X-T4-API-KEY": key})):
                rps, latencies = run_round(base_url, path, headers, per_round, concurrency)
                stats[path]["rps"].append(rps)
                stats[path]["lat"].extend(latencies)
    print(f"\n== {label} ==")
    print(f"{'endpoint':<10} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9}")
    summary = {}
    for path, data in stats.items():
        rps = statistics.median(data["rps"])
        summary[path] = rps
        print(
            f"{path:<10} {rps:>9.1f} {percentile(data['lat'], 0.5):>9.2f} "
            f"{percentile(data['lat'], 0.99):>9.2f}"
        )
    ratio = summary["/whoami"] / summary["/health"]
    verdict = "meets" if ratio >= 0.6 else "MISSES"
    print(f"/whoami keeps {ratio:.0%} of /health's throughput ({verdict} the 60% target)")
    return ratio


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="t4-bench-") as tmp:
        measure(
            "embedded default: SQLite + in-process cache, gunicorn 2 workers",
            server_env(Path(tmp) / "embedded"),
            args.requests,
            args.concurrency,
            args.rounds,
        )
        if redis_up():
            measure(
                "SQLite + Redis rate-limit cache, gunicorn 2 workers",
                server_env(
                    Path(tmp) / "redis",
                    REDIS_URL="redis://127.0.0.1:6379/12",
                    T4_CACHE_PREFIX=f"bench-{time.time_ns()}",
                ),
                args.requests,
                args.concurrency,
                args.rounds,
            )
        else:
            print("\n(Redis not reachable on 127.0.0.1:6379: the Redis run is skipped)")


if __name__ == "__main__":
    main()
