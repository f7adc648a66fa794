#!/usr/bin/env python
"""Dashboard render times at 1,000,000 LLM usage rows and 100,000 intents, next to /health.

Usage::

    .venv/bin/python bench/dashboard.py        # throwaway SQLite file in a temp dir

Seeding uses single ``INSERT ... SELECT`` statements over a recursive CTE (no Python loop per
row). Then the scheduled roll-ups run as they would in production: the midnight job
(``llmgate.daily.llm_close_day``) closes every day before today into ``DailySpend`` and the
hourly job (``audit.rollups.requesthourly_rollup``) rolls every completed hour of the request
log into ``RequestHourly``; pages then aggregate only today's ledger rows and the current
hour's request-log rows live. Pages are rendered through ``django.test.Client``
with a logged-in staff user (whole Django stack, request log included), round-robin in one
run so machine noise hits every page alike. Target: each page's median within 30x of
/health's median.

Env: BENCH_USAGE (default 1000000), BENCH_INTENTS (100000), BENCH_REQUESTS (200000),
BENCH_KEYS (200), BENCH_DAYS (60), BENCH_ROUNDS (15), BENCH_LAYOUT (chronological |
interleaved: how the usage rows of one day are placed in the table, see ``LAYOUT``).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_USAGE = int(os.environ.get("BENCH_USAGE", "1000000"))
N_INTENTS = int(os.environ.get("BENCH_INTENTS", "100000"))
N_REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200000"))
N_KEYS = int(os.environ.get("BENCH_KEYS", "200"))
N_DAYS = int(os.environ.get("BENCH_DAYS", "60"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
# "chronological": usage rows are inserted oldest day first, as the gate appends them in
# production, so one day's rows sit together in the table. "interleaved": consecutive rows
# belong to different days (every day's rows spread over the whole table), a worst case for
# the live aggregation of today that a real, append-only ledger never has.
LAYOUT = os.environ.get("BENCH_LAYOUT", "chronological")
ORDER_BY = {"chronological": " ORDER BY n %% %s DESC, n", "interleaved": ""}
ORDER_ARGS = {"chronological": [N_DAYS], "interleaved": []}
TARGET_RATIO = 30.0
PAGES = [
    ("/health", "/health"),
    ("home", "/dashboard/"),
    ("overview", "/dashboard/overview/"),
    ("intents", "/dashboard/intents/"),
    ("intents ?owner", "/dashboard/intents/?owner=%40team-7"),
    ("llm", "/dashboard/llm/"),
    ("llm ?owner", "/dashboard/llm/?owner=%40team-7"),
    ("api", "/dashboard/api/"),
    ("api ?owner", "/dashboard/api/?owner=%40team-7"),
    ("llm csv", "/dashboard/llm/?format=csv&table=agent_day"),
    ("/metrics", "/metrics"),
]


def configure() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="t4-bench-dash-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "t4site.settings"
    os.environ["DEBUG"] = "1"
    os.environ.setdefault("T4_ADMIN_TOKEN", "bench-admin-token")
    os.environ["T4_VAR_DIR"] = str(tmp)
    os.environ["T4_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    for name in ("DATABASE_URL", "REDIS_URL", "T4_RATE_REDIS", "PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop(name, None)
    os.environ["LOG_LEVEL"] = "WARNING"
    return tmp / "bench.sqlite3"


def _timed(label: str, fn) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    print(f"  {label:<44} {time.perf_counter() - started:7.1f} s", flush=True)


def seed() -> None:
    from django.contrib.auth.models import User
    from django.db import connection

    from apikeys.models import APIKey

    APIKey.objects.bulk_create(
        APIKey(
            prefix=f"bench{i:05d}",
            key_hash=f"{i:064x}",
            agent_id=f"agent-{i}",
            owner=f"@team-{i % 20}",
            scopes=[],
        )
        for i in range(N_KEYS)
    )
    first_key = APIKey.objects.order_by("pk").values_list("pk", flat=True).first()
    User.objects.create_user("bench-lead", password="bench-pw-9352", is_staff=True)

    def usage() -> None:
        with connection.cursor() as cur:
            cur.execute(
                """
                WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)
                INSERT INTO llmgate_llmusage (api_key_id, agent_id, model, day, created_at,
                    status, prompt_tokens, completion_tokens, estimated_cost, cost, latency_ms,
                    streamed, error, request_id, upstream_id)
                SELECT %s + (n %% %s), 'agent-' || (n %% %s),
                    CASE n %% 3 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' ELSE 'gpt-4' END,
                    date('now', '-' || (n %% %s) || ' days'),
                    datetime('now', '-' || (n %% %s) || ' days'),
                    CASE WHEN n %% 50 = 0 THEN 'refused' WHEN n %% 97 = 0 THEN 'error'
                        ELSE 'ok' END,
                    100 + n %% 900, 20 + n %% 400, 0.05, (n %% 1000) / 10000.0, 300,
                    0, '', 'bench-' || n, ''
                FROM seq
                """  # noqa: S608 - constants only
                + ORDER_BY[LAYOUT],
                [N_USAGE - 1, first_key, N_KEYS, N_KEYS, N_DAYS, N_DAYS, *ORDER_ARGS[LAYOUT]],
            )

    def intents() -> None:
        statuses = "'reserved','planned','committed','accepted','expired','implemented'"
        codes = "'F401','F821','B008','B904','B018','RUF006','RUF012','SIM105','E702','SIM102'"
        with connection.cursor() as cur:
            cur.execute(
                f"""
                WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)
                INSERT INTO intents_intent (id, code, type, file, line, import_text,
                    reason_category, reason, suggestion, owner, ticket, status, expires_at,
                    created_at, modified_at, raw)
                SELECT 'T4-B' || n, json_extract(json_array({codes}), '$[' || (n %% 10) || ']'),
                    'lint', 'pkg/m' || (n %% 500) || '.py', 1 + n %% 900, '', '',
                    'kept for the plugin registry ' || n, '', '@team-' || (n %% 20),
                    'GH-' || n, json_extract(json_array({statuses}), '$[' || (n %% 6) || ']'),
                    CASE WHEN n %% 6 = 3 THEN datetime('now', '+' || (n %% 40) || ' days') END,
                    datetime('now', '-' || (n %% 400) || ' days'),
                    datetime('now', '-' || (n %% 90) || ' days'), '{{}}'
                FROM seq
                """,  # noqa: S608 - constants only
                [N_INTENTS - 1],
            )

    def requests() -> None:
        with connection.cursor() as cur:
            cur.execute(
                """
                WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)
                INSERT INTO audit_requestlog (time, method, path, route, query, status,
                    client_ip, key_prefix, agent_id, duration_ms, body, user_agent)
                SELECT datetime('now', '-' || (n %% 4320) || ' minutes'), 'GET',
                    CASE n %% 4 WHEN 0 THEN '/intents' WHEN 1 THEN '/whoami'
                        WHEN 2 THEN '/llm/chat' ELSE '/intents/T4-' || (n %% 100) END,
                    CASE n %% 4 WHEN 0 THEN '/intents' WHEN 1 THEN '/whoami'
                        WHEN 2 THEN '/llm/chat' ELSE '/intents/<str:intent_id>' END,
                    '', CASE WHEN n %% 40 = 0 THEN 429 WHEN n %% 101 = 0 THEN 500 ELSE 200 END,
                    NULL, 't4_bench' || printf('%%05d', n %% %s), 'agent-' || (n %% %s),
                    (n %% 200) / 2.0, '', ''
                FROM seq
                """,
                [N_REQUESTS - 1, N_KEYS, N_KEYS],
            )

    _timed(f"{N_USAGE:,} usage rows over {N_DAYS} days ({LAYOUT})", usage)
    _timed(f"{N_INTENTS:,} intents", intents)
    _timed(f"{N_REQUESTS:,} request-log rows over 3 days", requests)
    close_days()
    rollup_requests()
    reports = quality_report_seed()
    if reports:
        _timed("90 quality reports", reports)
    _timed("ANALYZE", lambda: connection.cursor().execute("ANALYZE"))


def close_days() -> None:
    """The midnight job: every day before today into DailySpend (skipped without it)."""
    try:
        from llmgate.daily import llm_close_day
        from llmgate.models import DailySpend
    except ImportError:
        print("  (llmgate.DailySpend is not defined: pages aggregate the ledger)")
        return
    holder = {}
    _timed("close_day: every day before today", lambda: holder.update(r=llm_close_day()))
    result = holder["r"]
    print(
        f"    {len(result.days)} day(s) closed into {DailySpend.objects.count():,} DailySpend "
        f"row(s); cost {result.cost:.2f} USD"
    )


def rollup_requests() -> None:
    """The hourly job, caught up over the seeded hours, then one ordinary hourly run."""
    from audit.models import RequestHourly, RequestLog
    from audit.rollups import requesthourly_rolled_until, requesthourly_rollup

    totals = {"hours": 0, "requests": 0}

    def catch_up() -> None:
        while True:
            result = requesthourly_rollup()
            totals["hours"] += len(result.hours)
            totals["requests"] += result.requests
            if result.caught_up:
                break

    _timed("request roll-up: every completed hour", catch_up)
    rolled_until = requesthourly_rolled_until()
    live = RequestLog.objects.filter(time__gte=rolled_until).count() if rolled_until else 0
    print(
        f"    {totals['hours']} hour(s), {totals['requests']:,} request(s) into "
        f"{RequestHourly.objects.count():,} RequestHourly row(s); rolled until "
        f"{rolled_until:%Y-%m-%d %H:%M} UTC, {live:,} request(s) after it stay live"
    )
    started = time.perf_counter()
    again = requesthourly_rollup()
    print(
        f"  {'hourly run when up to date (re-rolls the last hour)':<44} "
        f"{(time.perf_counter() - started) * 1000:7.1f} ms ({again.requests:,} requests)"
    )


def quality_report_seed():  # type: ignore[no-untyped-def]
    from dashboard.selectors import optional_model

    model = optional_model("intents", "QualityReport")
    if model is None:
        print("  (intents.QualityReport is not defined: the overview says no reports yet)")
        return None

    def make() -> None:
        from datetime import timedelta

        from django.utils import timezone

        now = timezone.now()
        fields = {f.name for f in model._meta.concrete_fields}
        rows = []
        for i in range(90):
            total = 5000 - 30 * i
            values = {
                "created_at": now - timedelta(days=90 - i),
                "summary": {
                    "total_findings": total,
                    "annotated": total - 400 + 2 * i,
                    "unannotated": 400 - 2 * i,
                },
                "metrics": {"annotation_quality_score": 60 + i / 3},
                # Headline columns (when the model has them) repeat the summary figures.
                "status": "fail",
                "total_findings": total,
                "annotated": total - 400 + 2 * i,
                "unannotated": 400 - 2 * i,
                "legacy_format": 0,
                "waived": 0,
                "quality_issues": 0,
                "quality_score": 60 + i / 3,
                "repository": "bench/repo",
                "commit": f"{i:040x}",
            }
            rows.append(model(**{k: v for k, v in values.items() if k in fields}))
        model._default_manager.bulk_create(rows)

    return make


def main() -> None:
    db_path = configure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    print(f"database: sqlite {db_path}")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    print("seeding:")
    seed()
    print(f"  total seeding {time.perf_counter() - started:.1f} s")

    from django.conf import settings

    client = Client()
    assert client.login(username="bench-lead", password="bench-pw-9352")
    # /metrics is routed at the root by the site's URLconf once it includes
    # dashboard.urls.metrics_urlpatterns; the bench adds it itself in case it does not yet.
    with override_settings(ROOT_URLCONF="tests.dashboard.urls", SESSION_COOKIE_SECURE=False):
        for _, url in PAGES:  # warm-up: template compilation, connection, caches
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        samples: dict[str, list[float]] = {label: [] for label, _ in PAGES}
        for _ in range(ROUNDS):
            for label, url in PAGES:
                t0 = time.perf_counter()
                response = client.get(url)
                samples[label].append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (url, response.status_code)
    del settings
    health = statistics.median(samples["/health"])
    print(f"\nmedian of {ROUNDS} rounds (ms), ratio to /health; target <= {TARGET_RATIO:.0f}x")
    worst = 0.0
    for label, _ in PAGES:
        ms = statistics.median(samples[label])
        ratio = ms / health
        worst = max(worst, ratio if label != "/health" else 0)
        flag = "" if ratio <= TARGET_RATIO else "  <-- over target"
        print(f"  {label:<16} {ms:9.2f} ms  {ratio:7.1f}x{flag}")
    verdict = "PASS" if worst <= TARGET_RATIO else "FAIL"
    print(f"\nworst ratio {worst:.1f}x: {verdict}")


if __name__ == "__main__":
    main()
