#!/usr/bin/env python
"""Intent API latency at 100,000 intents: by_file, stale and /metrics/summary next to /health.

Usage::

    .venv/bin/python bench/intents_api.py                 # throwaway SQLite in a temp dir
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/t4_bench .venv/bin/python \
        bench/intents_api.py                              # a throwaway PostgreSQL database

Requests go through ``django.test.Client`` in this process: the whole Django stack (middleware
incl. the request log, DRF authentication, rate limiting, serialisation, SQL) without a socket
or a WSGI server, so the ratios compare the endpoints' own work. The endpoints are measured
round-robin in one run so that machine noise hits them alike. Target: /metrics/summary p50
within 20x of /health p50.

Env: BENCH_INTENTS (default 100000), BENCH_ROUNDS (default 300), BENCH_DATABASE_URL.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_INTENTS = int(os.environ.get("BENCH_INTENTS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
TARGET_RATIO = 20.0
CODES = ["F401", "F821", "B008", "B904", "B018", "RUF006", "RUF012", "SIM105", "E702", "SIM102"]
STATUSES = ["reserved", "planned", "committed", "accepted", "expired", "implemented"]


def configure() -> str:
    tmp = Path(tempfile.mkdtemp(prefix="t4-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "t4site.settings"
    os.environ["DEBUG"] = "1"
    os.environ.setdefault("T4_ADMIN_TOKEN", "bench-admin-token")
    os.environ["T4_VAR_DIR"] = str(tmp)
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("T4_RATE_REDIS", None)
    os.environ["LOG_LEVEL"] = "WARNING"
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url:
        os.environ["DATABASE_URL"] = url
        return url
    os.environ.pop("DATABASE_URL", None)
    os.environ["T4_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    return f"sqlite {tmp / 'bench.sqlite3'}"


def seed(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from intents.models import Intent

    Intent.objects.filter(id__startswith="bench-").delete()
    now = timezone.now()
    batch: list[Intent] = []
    started = time.perf_counter()
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        created = now - timedelta(days=120, minutes=i % 10_000)
        modified = now - timedelta(days=(i * 7) % 90, minutes=i % 1000)
        batch.append(
            Intent(
                id=f"bench-{i:06d}",
                code=CODES[i % len(CODES)],
                file=f"pkg/mod_{i // 50:04d}.py",  # 2,000 files of 50 findings
                line=(i % 50) + 1,
                reason="todo" if i % 11 == 0 else "framework pattern, see ticket",
                owner="" if i % 13 == 0 else f"@team-{i % 40}",
                ticket="" if i % 17 == 0 else f"GH-{i}",
                status=status,
                expires_at=now + timedelta(days=i % 100) if status == "accepted" else None,
                created_at=created,
                modified_at=modified,
                resolved_at=modified if status == "implemented" else None,
            )
        )
        if len(batch) == 5000:
            Intent.objects.bulk_create(batch)
            batch.clear()
    if batch:
        Intent.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # What autovacuum does in production: the visibility map enables index-only scans.
            cursor.execute("VACUUM ANALYZE intents_intent")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"seeded {n:,} intents in {time.perf_counter() - started:.1f}s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    where = configure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from apikeys.services import apikey_create
    from audit.actor import Actor

    call_command("migrate", verbosity=0, interactive=False)
    seed(N_INTENTS)
    issued = apikey_create(
        agent_id="bench", actor=Actor.system("bench"), rate_per_minute=10_000_000
    )
    client = Client(HTTP_X_T4_API_KEY=issued.secret)
    endpoints = {
        "GET /health": "/health",
        "GET /intents/by_file": "/intents/by_file?file=pkg/mod_0420.py",
        "GET /intents/stale?days=30": "/intents/stale?days=30",
        "GET /metrics/summary": "/metrics/summary",
    }
    for path in endpoints.values():  # warm-up, and a sanity check
        for _ in range(10):
            response = client.get(path)
            if response.status_code != 200:
                print(f"{path} -> {response.status_code} {response.content[:200]!r}")
                return 1
    timings: dict[str, list[float]] = {name: [] for name in endpoints}
    for _ in range(ROUNDS):
        for name, path in endpoints.items():
            started = time.perf_counter()
            client.get(path)
            timings[name].append((time.perf_counter() - started) * 1000)

    print(f"database: {where}; {N_INTENTS:,} intents; {ROUNDS} rounds, django.test.Client")
    health_p50 = statistics.median(timings["GET /health"])
    health_p99 = percentile(timings["GET /health"], 0.99)
    print(f"{'endpoint':30} {'p50 ms':>9} {'p99 ms':>9} {'p50/health':>11} {'p99/health':>11}")
    for name, values in timings.items():
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(
            f"{name:30} {p50:9.2f} {p99:9.2f} {p50 / health_p50:10.1f}x {p99 / health_p99:10.1f}x"
        )
    ratio = statistics.median(timings["GET /metrics/summary"]) / health_p50
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(
        f"/metrics/summary p50 = {ratio:.1f}x /health p50 "
        f"(target <= {TARGET_RATIO:.0f}x): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
