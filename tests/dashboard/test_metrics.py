"""/metrics: Prometheus text that parses, moves with requests, reads the database, and can be
protected by a token; multiprocess mode merges the workers' files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from dashboard.selectors.common import utc_today

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.dashboard.urls")]

METRICS_MIDDLEWARE = "dashboard.metrics.PrometheusMetricsMiddleware"
WITH_METRICS = (
    list(settings.MIDDLEWARE)
    if METRICS_MIDDLEWARE in settings.MIDDLEWARE
    else [settings.MIDDLEWARE[0], METRICS_MIDDLEWARE, *settings.MIDDLEWARE[1:]]
)


def scrape(client: Client, **extra: Any) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@override_settings(MIDDLEWARE=WITH_METRICS)
def test_request_counters_and_histograms_move(client: Client) -> None:
    before = scrape(client)
    labels = {"route": "/health", "method": "GET", "status": "200"}
    for _ in range(3):
        assert client.get("/health").status_code == 200
    client.get("/no/such/path")
    after = scrape(client)
    assert (
        value(after, "t4_http_requests_total", **labels)
        - value(before, "t4_http_requests_total", **labels)
        == 3
    )
    count = "t4_http_request_duration_seconds_count"
    assert value(after, count, **labels) - value(before, count, **labels) == 3
    assert value(after, "t4_http_request_duration_seconds_bucket", **labels, le="+Inf") >= 3
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert value(after, "t4_http_requests_total", **unmatched) >= 1
    # The scrape itself is counted under its route pattern.
    assert value(after, "t4_http_requests_total", route="/metrics", method="GET", status="200")


@override_settings(MIDDLEWARE=WITH_METRICS)
def test_rate_limited_requests_are_counted(
    client: Client, make_key: Callable[..., Any], settings: Any
) -> None:
    issued = make_key("limited", rate_per_minute=1)
    headers = {"HTTP_X_T4_API_KEY": issued.secret}
    before = scrape(client)
    client.get("/whoami", **headers)
    assert client.get("/whoami", **headers).status_code == 429
    after = scrape(client)
    rejected = value(after, "t4_rate_limited_requests_total", route="/whoami") - value(
        before, "t4_rate_limited_requests_total", route="/whoami"
    )
    assert rejected == 1
    assert value(after, "t4_http_requests_total", route="/whoami", method="GET", status="429")


def test_database_figures(
    client: Client,
    make_key: Callable[..., Any],
    usage_row: Callable[..., Any],
    intent_row: Callable[..., Any],
) -> None:
    key = make_key("agent-m").api_key
    today = utc_today()
    usage_row(key, day=today, cost=Decimal("1.25"), prompt_tokens=10, completion_tokens=5)
    usage_row(key, day=today, cost=Decimal("0.75"), prompt_tokens=20, completion_tokens=7)
    usage_row(key, day=today, status="refused", cost=Decimal("0"), prompt_tokens=0)
    usage_row(key, day=today, status="error", model="gpt-4o-mini", cost=Decimal("0"))
    intent_row(status="planned")
    intent_row(status="planned")
    intent_row(status="reserved")
    intent_row(status="implemented")

    s = scrape(client)
    assert value(s, "t4_llm_calls_total", model="gpt-4o", status="ok") == 2
    assert value(s, "t4_llm_calls_total", model="gpt-4o", status="refused") == 1
    assert value(s, "t4_llm_calls_total", model="gpt-4o-mini", status="error") == 1
    assert value(s, "t4_llm_tokens_total", model="gpt-4o", status="ok", kind="prompt") == 30
    assert value(s, "t4_llm_tokens_total", model="gpt-4o", status="ok", kind="completion") == 12
    assert value(s, "t4_llm_cost_usd_total", model="gpt-4o", status="ok") == 2.0
    assert value(s, "t4_llm_refused_calls_total", model="gpt-4o") == 1
    assert value(s, "t4_intents_open", status="planned") == 2
    assert value(s, "t4_intents_open", status="reserved") == 1
    assert value(s, "t4_intents_open", status="committed") == 0
    assert ("t4_intents_open", (("status", "implemented"),)) not in s


def test_token_protection(client: Client, settings: Any) -> None:
    settings.T4_METRICS_TOKEN = "metrics-secret-1234"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", {"token": "wrong"}).status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    scrape(client, HTTP_AUTHORIZATION="Bearer metrics-secret-1234")
    assert client.get("/metrics", {"token": "metrics-secret-1234"}).status_code == 200


def test_metrics_is_get_only(client: Client) -> None:
    assert client.post("/metrics").status_code == 405


WORKER = textwrap.dedent(
    """
    import django
    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory
    from dashboard.metrics import PrometheusMetricsMiddleware
    middleware = PrometheusMetricsMiddleware(lambda request: HttpResponse(status=429))
    for _ in range({n}):
        middleware(RequestFactory().get("/anything"))
    """
)


def test_multiprocess_mode_merges_every_worker(
    tmp_path: Path, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes record requests into PROMETHEUS_MULTIPROC_DIR; a scrape in a
    third process (this one) reports their sum."""
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "t4site.settings",
        "T4_VAR_DIR": str(tmp_path / "var"),
    }
    for n in (2, 3):
        subprocess.run(
            [sys.executable, "-c", WORKER.format(n=n)],
            env=env,
            check=True,
            cwd=settings.BASE_DIR,
            timeout=120,
        )
    assert list(directory.glob("*.db"))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    assert (
        registry.get_sample_value("t4_rate_limited_requests_total", {"route": "<unmatched>"}) == 5
    )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    s = scrape(client)
    assert value(s, "t4_http_requests_total", route="<unmatched>", method="GET", status="429") == 5
    assert value(s, "t4_intents_open", status="planned") == 0  # database figures still present


def test_llm_history_is_cached_and_recent_days_stay_live(
    client: Client,
    make_key: Callable[..., Any],
    usage_row: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    from datetime import timedelta

    key = make_key("agent-h").api_key
    today = utc_today()
    usage_row(key, day=today - timedelta(days=10), cost=Decimal("1"))
    assert value(scrape(client), "t4_llm_calls_total", model="gpt-4o", status="ok") == 1
    usage_row(key, day=today - timedelta(days=1), cost=Decimal("1"))
    usage_row(key, day=today, cost=Decimal("1"))
    s = scrape(client)
    assert value(s, "t4_llm_calls_total", model="gpt-4o", status="ok") == 3
    assert value(s, "t4_llm_cost_usd_total", model="gpt-4o", status="ok") == 3.0


def test_llm_totals_once_yesterday_is_closed_only_today_is_aggregated_live(
    client: Client, make_key: Callable[..., Any], usage_row: Callable[..., Any]
) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from llmgate.daily import llm_close_day

    key = make_key("agent-c").api_key
    today = utc_today()
    usage_row(key, day=today - timedelta(days=3), cost=Decimal("1"))
    usage_row(key, day=today - timedelta(days=1), cost=Decimal("2"))
    usage_row(key, day=today - timedelta(days=1), status="error", cost=Decimal("0.5"))
    usage_row(key, day=today, cost=Decimal("4"))
    llm_close_day()
    with CaptureQueriesContext(connection) as queries:
        s = scrape(client)
    assert value(s, "t4_llm_calls_total", model="gpt-4o", status="ok") == 3
    assert value(s, "t4_llm_calls_total", model="gpt-4o", status="error") == 1
    # Per-status tokens and cost stay exact for closed days (read from the ledger once).
    assert value(s, "t4_llm_cost_usd_total", model="gpt-4o", status="ok") == 7.0
    assert value(s, "t4_llm_cost_usd_total", model="gpt-4o", status="error") == 0.5
    assert value(s, "t4_llm_tokens_total", model="gpt-4o", status="error", kind="prompt") == 100
    ledger = [q["sql"] for q in queries.captured_queries if "llmgate_llmusage" in q["sql"]]
    assert len(ledger) == 2  # history (cached from now on) and today
    usage_row(key, day=today, cost=Decimal("8"))
    with CaptureQueriesContext(connection) as queries:
        s = scrape(client)
    assert value(s, "t4_llm_cost_usd_total", model="gpt-4o", status="ok") == 15.0
    ledger = [q["sql"] for q in queries.captured_queries if "llmgate_llmusage" in q["sql"]]
    assert len(ledger) == 1  # history from the cache; only today from the ledger
    assert today.isoformat() in ledger[0]
    assert (today - timedelta(days=1)).isoformat() not in ledger[0]
