"""LLM spend: the usage ledger, its ``llmgate.DailySpend`` roll-up (optional) and budgets;
the all-time ledger totals for the /metrics scrape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from llmgate.models import ZERO, KeyDailyBudget, LLMUsage, UsageStatus

from .common import Filters, optional_model, utc_today

HISTORY_CACHE_SECONDS = 26 * 3600
REFUSED = UsageStatus.REFUSED


@dataclass(frozen=True)
class SpendRow:
    day: date | None
    agent_id: str
    model: str
    calls: int
    refused: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


def _usage_sums() -> dict[str, Any]:
    return {
        "calls": Count("pk", filter=~Q(status=REFUSED)),
        "refused": Count("pk", filter=Q(status=REFUSED)),
        "prompt": Coalesce(Sum("prompt_tokens"), 0),
        "completion": Coalesce(Sum("completion_tokens"), 0),
        "cost_sum": Coalesce(Sum("cost"), Value(ZERO), output_field=_money()),
    }


def _money() -> DecimalField:
    return DecimalField(max_digits=24, decimal_places=10)


_LIVE_GROUP = ("day", "agent_id", "model")


@dataclass(frozen=True)
class SpendSource:
    """Where a page's spend figures come from, computed once per page.

    ``rolled``: the last day in ``DailySpend`` (None: nothing rolled up);
    ``live``: the ledger after that day (normally today), aggregated once by day, agent and
    model as ``(key, calls, refused, prompt, completion, cost)`` so every table of the page
    reduces the same rows instead of scanning the ledger again.
    """

    rolled: date | None
    live: list[tuple]


def spend_source(*, filters: Filters) -> SpendSource:
    rolled = rolled_until()
    # One lower bound, not ``day >= start AND day > rolled``: given both, SQLite may range
    # the index on the first one only and then filter a month of rows by the second.
    first = filters.start if rolled is None else max(filters.start, rolled + timedelta(days=1))
    ledger = LLMUsage.objects.filter(day__gte=first, day__lte=filters.end)
    if filters.owner:
        ledger = ledger.filter(api_key__owner=filters.owner)
    live = [
        (
            tuple(row[g] for g in _LIVE_GROUP),
            row["calls"],
            row["refused"],
            row["prompt"],
            row["completion"],
            row["cost_sum"],
        )
        for row in ledger.order_by().values(*_LIVE_GROUP).annotate(**_usage_sums())
    ]
    return SpendSource(rolled=rolled, live=live)


def spend_rows(
    *, filters: Filters, group: tuple[str, ...], source: SpendSource | None = None
) -> list[SpendRow]:
    """Usage grouped by any of ``day``, ``agent_id``, ``model`` over the filter range.

    Days already rolled up into ``DailySpend`` are read from the roll-up; the ledger is only
    aggregated for the days after the last roll-up (normally: today).
    """
    source = source or spend_source(filters=filters)
    merged: dict[tuple, list] = {}

    def add(key: tuple, calls: int, refused: int, prompt: int, completion: int, cost: Any):
        slot = merged.setdefault(key, [0, 0, 0, 0, ZERO])
        slot[0] += calls or 0
        slot[1] += refused or 0
        slot[2] += prompt or 0
        slot[3] += completion or 0
        slot[4] += cost or ZERO

    if source.rolled is not None:
        for row in daily_spend_rows(filters=filters, group=group, until=source.rolled):
            add(*row)
    positions = [_LIVE_GROUP.index(g) for g in group]
    for key, *figures in source.live:
        add(tuple(key[i] for i in positions), *figures)
    result = []
    for key, (calls, refused, prompt, completion, cost) in merged.items():
        values = dict(zip(group, key, strict=True))
        result.append(
            SpendRow(
                day=values.get("day"),
                agent_id=values.get("agent_id", ""),
                model=values.get("model", ""),
                calls=calls,
                refused=refused,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=Decimal(cost),
            )
        )
    return result


def rolled_until() -> date | None:
    """The last day present in the ``DailySpend`` roll-up (None without roll-up)."""
    model = optional_model("llmgate", "DailySpend")
    if model is None:
        return None
    return model._default_manager.aggregate(last=Max("day"))["last"]


def daily_spend_rows(*, filters: Filters, group: tuple[str, ...], until: date) -> list[tuple]:
    """Roll-up rows as ``(key, calls, refused, prompt, completion, cost)`` (see spend_rows)."""
    model = optional_model("llmgate", "DailySpend")
    if model is None:
        return []
    names = {f.name for f in model._meta.get_fields()}
    qs = model._default_manager.filter(day__gte=filters.start, day__lte=min(filters.end, until))
    if filters.owner:
        qs = qs.filter(api_key__owner=filters.owner)
    mapping = {"day": "day", "model": "model", "agent_id": "api_key__agent_id"}
    if "agent_id" in names:
        mapping["agent_id"] = "agent_id"
    values = [mapping[g] for g in group]
    sums = {
        "calls_sum": Coalesce(Sum("calls"), 0),
        "refused_sum": Coalesce(Sum("refusals"), 0) if "refusals" in names else Value(0),
        "cost_sum": Coalesce(Sum("cost"), Value(ZERO), output_field=_money()),
    }
    for name in ("prompt_tokens", "completion_tokens"):
        sums[name + "_sum"] = Coalesce(Sum(name), 0) if name in names else Value(0)
    if "prompt_tokens" not in names and "tokens" in names:
        sums["prompt_tokens_sum"] = Coalesce(Sum("tokens"), 0)
    out = []
    for row in qs.order_by().values(*values).annotate(**sums):
        out.append(
            (
                tuple(row[v] for v in values),
                row["calls_sum"],
                row["refused_sum"],
                row["prompt_tokens_sum"],
                row["completion_tokens_sum"],
                row["cost_sum"],
            )
        )
    return out


def keys_near_limit(*, filters: Filters, limit: int = 10) -> list[dict[str, Any]]:
    """Today's budgets, highest share of the daily limit used (spent + reserved) first."""
    used = ExpressionWrapper(F("spent") + F("reserved"), output_field=_money())
    qs = KeyDailyBudget.objects.filter(day=utc_today(), api_key__daily_limit__gt=0)
    if filters.owner:
        qs = qs.filter(api_key__owner=filters.owner)
    rows = (
        qs.annotate(used=used)
        .annotate(
            # Ordering only, as a float: SQLite keeps whole-dollar amounts as integers, and
            # 5 / 10 would be integer division there (0).
            share=ExpressionWrapper(
                Cast("used", FloatField()) / Cast("api_key__daily_limit", FloatField()),
                output_field=FloatField(),
            )
        )
        .order_by("-share", "api_key_id")
        .values(
            "api_key_id",
            "api_key__prefix",
            "api_key__agent_id",
            "api_key__owner",
            "api_key__daily_limit",
            "spent",
            "reserved",
            "refusals",
        )[:limit]
    )
    out = []
    for row in rows:
        limit_usd = row["api_key__daily_limit"]
        used_usd = row["spent"] + row["reserved"]
        out.append(
            {
                "key_id": row["api_key_id"],
                "prefix": f"t4_{row['api_key__prefix']}",
                "agent_id": row["api_key__agent_id"],
                "owner": row["api_key__owner"],
                "daily_limit": limit_usd,
                "spent": row["spent"],
                "reserved": row["reserved"],
                "refusals": row["refusals"],
                "used_pct": round(float(used_usd / limit_usd * 100), 1) if limit_usd else None,
            }
        )
    return out


# --- ledger totals for /metrics ---------------------------------------------------------


def _ledger_totals(qs: QuerySet[LLMUsage]) -> dict[tuple[str, str], list]:
    rows = (
        qs.order_by()
        .values_list("model", "status")
        .annotate(
            calls=Count("pk"),
            prompt_tokens=Coalesce(Sum("prompt_tokens"), 0),
            completion_tokens=Coalesce(Sum("completion_tokens"), 0),
            cost=Coalesce(Sum("cost"), Value(ZERO), output_field=_money()),
        )
    )
    return {(model, status): [calls, p, c, cost] for model, status, calls, p, c, cost in rows}


def llm_totals_by_model_status(*, today: date | None = None) -> list[dict[str, Any]]:
    """All-time calls, tokens and cost per (model, status), for the metrics scrape.

    Closed days no longer change, so their totals are computed once per boundary and kept
    in the cache (shared by every worker when the cache is Redis); each scrape aggregates
    only the open days through the ``(day, model)`` index: today alone once the midnight job
    has closed yesterday into ``DailySpend``, else yesterday and today (a call reserved just
    before midnight settles after it). The closed days are read from the ledger, not from
    ``DailySpend``: the roll-up has no per-status tokens and cost, and a counter that moved
    between labels when its day is closed would go backwards.
    """
    today = today or utc_today()
    closed = rolled_until()
    boundary = (
        today
        if closed is not None and closed >= today - timedelta(days=1)
        else (today - timedelta(days=1))
    )
    cache_key = f"dashboard:llm-history:{boundary.isoformat()}"
    history = cache.get(cache_key)
    if history is None:
        history = _ledger_totals(LLMUsage.objects.filter(day__lt=boundary))
        cache.set(cache_key, history, HISTORY_CACHE_SECONDS)
    merged = {key: list(values) for key, values in history.items()}
    for key, values in _ledger_totals(LLMUsage.objects.filter(day__gte=boundary)).items():
        slot = merged.setdefault(key, [0, 0, 0, ZERO])
        for i, v in enumerate(values):
            slot[i] += v
    return [
        {
            "model": model,
            "status": status,
            "calls": calls,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cost": cost,
        }
        for (model, status), (calls, prompt, completion, cost) in sorted(merged.items())
    ]
