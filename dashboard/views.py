"""Team-lead pages. Each view builds ``Table`` objects from selectors, then renders them as
HTML (with an SVG chart beside the numbers) or, for ``?format=csv&table=<name>``, as CSV."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.admin.utils import quote
from django.contrib.auth.decorators import user_passes_test
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from llmgate.models import ZERO

from .charts import bar_chart, line_chart
from .forms import parse_filters
from .selectors.activity import request_totals, request_window, requests_per_hour, slowest_paths
from .selectors.common import is_team_lead, optional_model
from .selectors.intents import (
    expiring_waivers,
    intent_counts,
    intent_status_counts,
    stale_intents,
)
from .selectors.reports import quality_reports
from .selectors.spend import SpendRow, keys_near_limit, spend_rows, spend_source
from .tables import Link, Table, csv_response
from .trend import eta_to_target

team_lead_required = user_passes_test(is_team_lead, login_url=settings.LOGIN_URL)

PAGES = [
    ("dashboard:overview", "Overview", "Lint debt from the uploaded reports, trend and ETA"),
    ("dashboard:intents", "Intents", "By status, owner and code; stale intents; expiring waivers"),
    ("dashboard:llm", "LLM spend", "Per agent and day, per model, keys near their limit, refusals"),
    ("dashboard:api", "API activity", "Requests per hour, 4xx/5xx/429, slowest endpoints"),
]
NO_REPORTS = "No reports uploaded yet."


def _respond(
    request: HttpRequest, template: str, page: str, tables: list[Table], context: dict[str, Any]
) -> HttpResponse:
    if request.GET.get("format") == "csv":
        wanted = request.GET.get("table", "")
        for table in tables:
            if table.name == wanted:
                return csv_response(table, filename_prefix=page)
        raise Http404("Unknown table.")
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    context.update(
        {
            "pages": PAGES,
            "page": page,
            "tables": {t.name: t for t in tables},
            "base_query": query.urlencode(),
        }
    )
    return render(request, template, context)


def _admin_link(intent_id: str) -> Link:
    return Link(intent_id, reverse("admin:intents_intent_change", args=[quote(intent_id)]))


def _intent_cells(i: Any) -> list[Any]:
    return [_admin_link(i.pk), i.code, i.file, i.line, i.owner, i.ticket, i.status, i.reason]


@team_lead_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html", {"pages": PAGES, "page": "home"})


@team_lead_required
def overview(request: HttpRequest) -> HttpResponse:
    form, filters, _ = parse_filters(request.GET, default_days=90)
    try:
        target = max(0, int(request.GET.get("target", "0")))
    except ValueError:
        target = 0
    series = request.GET.get("series", "total_findings")
    if series not in {"total_findings", "unannotated"}:
        series = "total_findings"
    reports = quality_reports(filters=filters)
    trend = Table(
        "reports",
        "Reports",
        ["uploaded", "repository", "commit", "total findings", "annotated", "unannotated", "score"],
    )
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "target": target,
        "series": series,
        "reports_available": reports is not None,
        "no_reports": NO_REPORTS,
        "latest": None,
    }
    if reports:
        for r in reports:
            trend.rows.append(
                [
                    r.created_at,
                    r.repository,
                    r.commit,
                    r.total_findings,
                    r.annotated,
                    r.unannotated,
                    r.quality_score,
                ]
            )
        labels = [f"{r.created_at:%m-%d %H:%M}" for r in reports]
        context["latest"] = reports[-1]
        context["findings_chart"] = line_chart(
            labels,
            {
                "total findings": [r.total_findings for r in reports],
                "annotated": [r.annotated for r in reports],
                "unannotated": [r.unannotated for r in reports],
            },
            title="Findings per report",
        )
        context["score_chart"] = line_chart(
            labels, {"quality score": [r.quality_score for r in reports]}, title="Quality score"
        )
        context["eta"] = eta_to_target(
            [(r.created_at, getattr(r, series)) for r in reports], target=target
        )
    status = intent_status_counts(filters=filters)
    intents_table = Table("intent_status", "Intents by status (now)", ["status", "intents"])
    intents_table.rows = [[k, v] for k, v in status.items()]
    return _respond(request, "dashboard/overview.html", "overview", [trend, intents_table], context)


@team_lead_required
def intents(request: HttpRequest) -> HttpResponse:
    form, filters, dated = parse_filters(request.GET, default_days=30)
    stale_days = settings.T4_STALE_DAYS
    by_status = Table("by_status", "By status", ["status", "intents"])
    by_status.rows = [[k, v] for k, v in intent_status_counts(filters=filters, dated=dated).items()]
    by_owner = Table("by_owner", "By owner (top 100)", ["owner", "intents"])
    by_owner.rows = [
        [k or "(none)", v] for k, v in intent_counts(filters=filters, by="owner", dated=dated)
    ]
    by_code = Table("by_code", "By code (top 100)", ["code", "intents"])
    by_code.rows = [[k, v] for k, v in intent_counts(filters=filters, by="code", dated=dated)]
    columns = ["id", "code", "file", "line", "owner", "ticket", "status", "reason"]
    stale = Table(
        "stale",
        f"Stale intents (open, untouched for {stale_days} days; oldest 100)",
        [*columns, "modified"],
    )
    for i in stale_intents(filters=filters, days=stale_days):
        stale.rows.append([*_intent_cells(i), i.modified_at])
    expiring = Table("expiring", "Waivers expiring within 14 days", [*columns, "expires"])
    for i in expiring_waivers(filters=filters):
        expiring.rows.append([*_intent_cells(i), i.expires_at])
    context = {
        "form": form,
        "filters": filters,
        "dated": dated,
        "status_chart": bar_chart(
            [r[0] for r in by_status.rows], [r[1] for r in by_status.rows], title="By status"
        ),
        "code_chart": bar_chart(
            [r[0] for r in by_code.rows[:20]], [r[1] for r in by_code.rows[:20]], title="By code"
        ),
    }
    tables = [by_status, by_owner, by_code, stale, expiring]
    return _respond(request, "dashboard/intents.html", "intents", tables, context)


@team_lead_required
def llm_spend(request: HttpRequest) -> HttpResponse:
    form, filters, _ = parse_filters(request.GET, default_days=30)
    money_cols = ["calls", "refused", "prompt tokens", "completion tokens", "cost (USD)"]

    def cells(row: SpendRow) -> list[Any]:
        cost = row.cost.quantize(Decimal("0.0001"))
        return [row.calls, row.refused, row.prompt_tokens, row.completion_tokens, cost]

    per_agent_day = Table("agent_day", "Per agent per day", ["day", "agent", *money_cols])
    source = spend_source(filters=filters)  # one ledger scan for every table
    rows = spend_rows(filters=filters, group=("day", "agent_id"), source=source)
    rows.sort(key=lambda r: (r.day, r.agent_id))
    per_agent_day.rows = [[r.day, r.agent_id, *cells(r)] for r in rows]

    per_day: dict[Any, list[Any]] = {}
    day = filters.start
    while day <= filters.end:
        per_day[day] = [0, 0, ZERO]
        day += timedelta(days=1)
    for r in rows:
        slot = per_day.setdefault(r.day, [0, 0, ZERO])
        slot[0] += r.calls
        slot[1] += r.refused
        slot[2] += r.cost
    daily = Table("daily", "Per day (all agents)", ["day", "calls", "refused", "cost (USD)"])
    daily.rows = [
        [d, c, f, cost.quantize(Decimal("0.0001"))] for d, (c, f, cost) in per_day.items()
    ]

    per_model = Table("per_model", "Per model", ["model", *money_cols])
    models = spend_rows(filters=filters, group=("model",), source=source)
    models.sort(key=lambda r: (-r.cost, r.model))
    per_model.rows = [[r.model, *cells(r)] for r in models]

    near = Table(
        "near_limit",
        "Keys closest to their daily limit (today, UTC)",
        ["key", "agent", "owner", "daily limit", "spent", "reserved", "used %", "refusals"],
    )
    for k in keys_near_limit(filters=filters):
        near.rows.append(
            [
                Link(k["prefix"], reverse("admin:apikeys_apikey_change", args=[k["key_id"]])),
                k["agent_id"],
                k["owner"],
                k["daily_limit"],
                k["spent"].quantize(Decimal("0.0001")),
                k["reserved"].quantize(Decimal("0.0001")),
                k["used_pct"],
                k["refusals"],
            ]
        )
    refused = Table("refused", "Refused calls (budget exceeded)", ["day", "agent", "refused"])
    refused.rows = [[r.day, r.agent_id, r.refused] for r in rows if r.refused]

    total_cost = sum((r.cost for r in rows), ZERO)
    context = {
        "form": form,
        "filters": filters,
        "total_cost": total_cost.quantize(Decimal("0.01")),
        "total_calls": sum(r.calls for r in rows),
        "total_refused": sum(r.refused for r in rows),
        "rolled_until": source.rolled,
        "rollup_available": optional_model("llmgate", "DailySpend") is not None,
        "cost_chart": bar_chart(
            [f"{d:%m-%d}" for d in per_day], [v[2] for v in per_day.values()], title="Cost per day"
        ),
        "model_chart": bar_chart(
            [r.model for r in models], [r.cost for r in models], title="Cost per model"
        ),
    }
    tables = [daily, per_agent_day, per_model, near, refused]
    return _respond(request, "dashboard/llm.html", "llm", tables, context)


@team_lead_required
def api_activity(request: HttpRequest) -> HttpResponse:
    form, filters, _ = parse_filters(request.GET, default_days=2)
    hourly = Table(
        "hourly",
        "Requests per hour (UTC)",
        ["hour", "requests", "4xx", "5xx", "429", "avg ms"],
    )
    window = request_window(filters=filters)
    hours = requests_per_hour(filters=filters, window=window)
    hourly.rows = [
        [
            h["hour"],
            h["n"],
            h["c4xx"],
            h["c5xx"],
            h["c429"],
            round(h["avg_ms"] or 0, 1),
        ]
        for h in hours
    ]
    slow = Table(
        "slowest",
        "Slowest endpoints (by mean duration)",
        ["endpoint", "requests", "avg ms", "max ms"],
    )
    slow.rows = [
        [p["path"], p["n"], round(p["avg_ms"] or 0, 1), round(p["max_ms"] or 0, 1)]
        for p in slowest_paths(filters=filters, window=window)
    ]
    totals = request_totals(hours=hours)
    summary = Table("totals", "Totals", ["requests", "4xx", "5xx", "429", "avg ms"])
    summary.rows = [
        [totals["n"], totals["c4xx"], totals["c5xx"], totals["c429"], round(totals["avg_ms"], 1)]
    ]
    labels = [f"{h['hour']:%m-%d %H}h" for h in hours]
    context = {
        "form": form,
        "filters": filters,
        "totals": totals,
        "rolled_end": window.rolled_end if window.has_rolled else None,
        "hourly_chart": bar_chart(labels, [h["n"] for h in hours], title="Requests per hour"),
        "error_chart": line_chart(
            labels,
            {
                "4xx": [h["c4xx"] for h in hours],
                "5xx": [h["c5xx"] for h in hours],
                "429": [h["c429"] for h in hours],
            },
            title="Errors per hour",
        ),
    }
    return _respond(request, "dashboard/api.html", "api", [summary, hourly, slow], context)
