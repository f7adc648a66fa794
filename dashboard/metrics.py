"""Prometheus metrics: a request middleware, database collectors and the ``/metrics`` view.

Request counts and latencies are recorded per process by ``PrometheusMetricsMiddleware``.
With ``PROMETHEUS_MULTIPROC_DIR`` set (several gunicorn workers), prometheus-client writes
them to files in that directory and the view merges every worker's files at scrape time.
Everything that lives in the database — LLM calls, tokens, cost, refusals, open intents — is
read at scrape time with aggregate queries by ``DatabaseCollector``, so every worker reports
the same, complete figures and nothing is double counted.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from audit.routes import route_of

logger = logging.getLogger(__name__)
# The request metrics live in their own registry, not prometheus-client's global one, so the
# process/platform collectors of the global registry are not mixed into multiprocess output.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "t4_http_requests",
    "HTTP requests by route pattern, method and status.",
    ["route", "method", "status"],
    registry=REQUEST_REGISTRY,
)
LATENCY = Histogram(
    "t4_http_request_duration_seconds",
    "HTTP request latency by route pattern and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REQUEST_REGISTRY,
)
RATE_LIMITED = Counter(
    "t4_rate_limited_requests",
    "Requests rejected with 429 (rate limit), by route pattern.",
    ["route"],
    registry=REQUEST_REGISTRY,
)


class PrometheusMetricsMiddleware:
    """Counts every request and observes its duration. Place it near the top of MIDDLEWARE
    (right after the request log) so 404/429/500 responses are counted too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        try:
            route = route_of(request)
            status = str(response.status_code)
            method = request.method if request.method in _METHODS else "OTHER"
            REQUESTS.labels(route, method, status).inc()
            LATENCY.labels(route, method, status).observe(elapsed)
            if response.status_code == 429:
                RATE_LIMITED.labels(route).inc()
        except Exception:  # metrics must never break a response
            logger.debug("metrics: could not record %s", request.path, exc_info=True)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class DatabaseCollector(Collector):
    """Scrape-time aggregates from the database (one small grouped query each)."""

    def collect(self) -> Iterator[Metric]:
        from .selectors.intents import open_intents_by_status
        from .selectors.spend import llm_totals_by_model_status

        calls = CounterMetricFamily(
            "t4_llm_calls", "LLM gate calls by model and status.", labels=["model", "status"]
        )
        tokens = CounterMetricFamily(
            "t4_llm_tokens",
            "LLM tokens by model, status and kind.",
            labels=["model", "status", "kind"],
        )
        cost = CounterMetricFamily(
            "t4_llm_cost_usd",
            "Settled LLM cost in USD by model and status.",
            labels=["model", "status"],
        )
        refused = CounterMetricFamily(
            "t4_llm_refused_calls", "LLM calls refused for budget, by model.", labels=["model"]
        )
        for row in llm_totals_by_model_status():
            calls.add_metric([row["model"], row["status"]], row["calls"])
            tokens.add_metric([row["model"], row["status"], "prompt"], row["prompt_tokens"])
            tokens.add_metric([row["model"], row["status"], "completion"], row["completion_tokens"])
            cost.add_metric([row["model"], row["status"]], float(row["cost"]))
            if row["status"] == "refused":
                refused.add_metric([row["model"]], row["calls"])
        yield from (calls, tokens, cost, refused)
        intents = GaugeMetricFamily(
            "t4_intents_open",
            "Open intents (reserved/planned/committed) by status.",
            labels=["status"],
        )
        for status, count in open_intents_by_status().items():
            intents.add_metric([status], count)
        yield intents


class _RequestMetrics(Collector):
    """This process's request metrics (single-process mode)."""

    def collect(self) -> Iterator[Metric]:
        yield from REQUEST_REGISTRY.collect()


def build_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_RequestMetrics())
    registry.register(DatabaseCollector())
    return registry


def _authorised(request: HttpRequest) -> bool:
    expected = getattr(settings, "T4_METRICS_TOKEN", "")
    if not expected:
        return True
    header = request.META.get("HTTP_AUTHORIZATION", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else request.GET.get("token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        response = HttpResponse("metrics token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(build_registry()), content_type=CONTENT_TYPE_LATEST)


def mark_process_dead(pid: int) -> None:
    """Call from gunicorn's ``child_exit`` hook so a dead worker's live gauges are dropped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
