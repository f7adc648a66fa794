"""Latency the LLM gate adds: the official openai client against the fake upstream directly,
then through T4's /v1/chat/completions, in one run.

    .venv/bin/python bench/llm_overhead.py [--calls 1000] [--workers 2]

T4 runs as a real server — gunicorn with the production ``gunicorn.conf.py`` (threaded
workers) — on the embedded default: SQLite in a temporary var directory, LocMem cache. So
every call pays for authentication, the rate limit, the request log, the price lookup, the
reservation UPDATE and the settlement transaction. The upstream is ``llmgate.fake_openai``
in its own process on 127.0.0.1. Calls alternate (direct, gate, direct, gate, ...) so drift
affects both series alike. Target: added p50 <= 5 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import free_port, gunicorn, manage, server_env  # noqa: E402

UPSTREAM_KEY = "sk-bench-upstream"
TARGET_ADDED_P50_MS = 5.0


def wait_for(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until the fake provider answers (any HTTP status will do)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def print_server_side(var_dir: Path, calls: int) -> None:
    """Where the time goes on the server: Django's time per gated request (the request log's
    duration_ms) and, inside it, the wait on the upstream (the ledger's latency_ms)."""
    import sqlite3

    # The request log row is written after the response is sent; give the last one a moment.
    time.sleep(0.5)
    db = sqlite3.connect(var_dir / "t4.sqlite3")
    try:
        django_ms = [
            row[0]
            for row in db.execute(
                "SELECT duration_ms FROM audit_requestlog WHERE path = '/v1/chat/completions'"
            )
        ]
        upstream_ms = [row[0] for row in db.execute("SELECT latency_ms FROM llmgate_llmusage")]
    finally:
        db.close()
    if len(django_ms) < calls or len(upstream_ms) < calls:
        print(f"server side: only {len(django_ms)} request-log rows for {calls} calls")
        return
    django_p50 = statistics.median(django_ms)
    upstream_p50 = statistics.median(upstream_ms)
    print(
        f"server side (p50): Django {django_p50:.2f} ms per gated request, of which the "
        f"upstream call {upstream_p50:.0f} ms (ledger, whole ms); the rest of 'added' is "
        "the extra HTTP hop"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--worker-class",
        default=None,
        help="override gunicorn.conf.py's worker class (gthread), e.g. sync",
    )
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="t4-llm-bench-"))
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}/v1"
    # Production settings (DEBUG off: it would record every SQL query and slow each request).
    env = server_env(
        var_dir,
        OPENAI_API_KEY=UPSTREAM_KEY,
        OPENAI_BASE_URL=fake_url,
        OPENAI_MAX_RETRIES="0",
    )
    server_args = ["-c", str(ROOT / "gunicorn.conf.py")]
    if args.worker_class:
        server_args += ["--worker-class", args.worker_class]
    fake = subprocess.Popen(
        [sys.executable, "-m", "llmgate.fake_openai", "--port", str(fake_port),
         "--api-key", UPSTREAM_KEY, "--no-record"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        manage(env, "migrate", "--noinput")
        secret = manage(
            env, "create_api_key", "--agent_id", "bench", "--daily_limit", "1000000",
            "--rate_per_minute", "1000000", "--scopes", "llm:call",
        ).strip()  # fmt: skip
        wait_for(fake_url + "/models", fake)
        with gunicorn(
            env, workers=args.workers, log_path=var_dir / "server.log", extra_args=server_args
        ) as t4_url:
            run(args, fake_url=fake_url, t4_url=t4_url, secret=secret, var_dir=var_dir)
    finally:
        fake.terminate()
        try:
            fake.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fake.kill()
        shutil.rmtree(var_dir, ignore_errors=True)


def run(
    args: argparse.Namespace, *, fake_url: str, t4_url: str, secret: str, var_dir: Path
) -> None:
    """The timed part: both series, alternating, then the figures."""
    import openai  # the official SDK, as an agent would use it

    direct = openai.OpenAI(base_url=fake_url, api_key=UPSTREAM_KEY, max_retries=0)
    gated = openai.OpenAI(base_url=t4_url + "/v1", api_key=secret, max_retries=0)
    messages = [{"role": "user", "content": "Explain this function in one sentence."}]

    def timed(client: openai.OpenAI) -> float:
        started = time.perf_counter()
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, max_tokens=64
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert completion.choices[0].message.content
        return elapsed

    for _ in range(args.warmup):
        timed(direct)
        timed(gated)
    direct_ms: list[float] = []
    gated_ms: list[float] = []
    for _ in range(args.calls):
        direct_ms.append(timed(direct))
        gated_ms.append(timed(gated))

    worker_class = args.worker_class or "gthread (gunicorn.conf.py)"
    print(f"LLM gate overhead: {args.calls} calls each, gunicorn {args.workers} "
          f"{worker_class} workers, "
          "SQLite (embedded default), fake upstream on 127.0.0.1")  # fmt: skip
    print(f"{'':14}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, values in (("direct", direct_ms), ("through T4", gated_ms)):
        print(
            f"{name:14}{percentile(values, 50):10.2f}{percentile(values, 99):10.2f}"
            f"{statistics.fmean(values):10.2f}"
        )
    added_p50 = percentile(gated_ms, 50) - percentile(direct_ms, 50)
    added_p99 = percentile(gated_ms, 99) - percentile(direct_ms, 99)
    print(f"added p50: {added_p50:.2f} ms   added p99: {added_p99:.2f} ms")
    verdict = "meets" if added_p50 <= TARGET_ADDED_P50_MS else "MISSES"
    print(f"target added p50 <= {TARGET_ADDED_P50_MS} ms: {verdict}")
    print_server_side(var_dir, args.calls + args.warmup)


if __name__ == "__main__":
    main()
