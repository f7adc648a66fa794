"""LLM gate reads: prices, today's budget of one or many keys, the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, FilteredRelation, Q, QuerySet, Sum
from django.utils import timezone

from apikeys.models import APIKey

from .errors import UnpricedModel
from .models import COST_QUANTUM, ZERO, KeyDailyBudget, LLMUsage, ModelPrice
from .pricing import Price


def utc_today() -> date:
    """The budget day. Always UTC, whatever TIME_ZONE says."""
    return timezone.now().astimezone(UTC).date()


# Prices change rarely and are read on every call: each process keeps a found price for
# LLM_GATE_PRICE_CACHE_SECONDS (default 5; 0 disables). An admin edit clears this process's
# copy at once and reaches the other processes within that time. Unpriced models are never
# cached, so a newly priced model is usable immediately.
_price_cache: dict[str, tuple[float, Price]] = {}


def price_cache_clear(**_signal_kwargs: object) -> None:
    _price_cache.clear()


def price_get(*, model: str) -> Price:
    """The active price of ``model``; refuses an unpriced model naming the priced ones."""
    ttl = float(getattr(settings, "LLM_GATE_PRICE_CACHE_SECONDS", 5))
    if ttl > 0:
        cached = _price_cache.get(model)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
    row = (
        ModelPrice.objects.filter(model=model, active=True)
        .values_list("prompt_per_1k", "completion_per_1k")
        .first()
    )
    if row is None:
        priced = price_list()
        listing = ", ".join(priced) or "none"
        raise UnpricedModel(
            f"Model {model!r} has no price in T4 and is refused. Priced models: {listing}.",
            extra={"priced_models": priced},
        )
    price = Price(model=model, prompt_per_1k=row[0], completion_per_1k=row[1])
    if ttl > 0:
        _price_cache[model] = (time.monotonic() + ttl, price)
    return price


@dataclass(frozen=True)
class BudgetSnapshot:
    """One key's LLM money today. Unpacks as ``spent, reserved, remaining``."""

    day: date
    limit: Decimal
    spent: Decimal = ZERO
    reserved: Decimal = ZERO
    calls: int = 0
    refusals: int = 0
    remaining: Decimal = field(init=False)

    def __post_init__(self) -> None:
        left = self.limit - self.spent - self.reserved
        object.__setattr__(self, "remaining", max(ZERO, left).quantize(COST_QUANTUM))

    def __iter__(self) -> Iterator[Decimal]:
        return iter((self.spent, self.reserved, self.remaining))


def key_budget_today(*, api_key: APIKey) -> BudgetSnapshot:
    """Today's spend, reservations and remaining budget of one key (one query)."""
    day = utc_today()
    # (api_key, day) is unique. /whoami and /llm/usage run this on every call, and building
    # the query through the ORM costs several times more than executing it.
    rows = list(
        KeyDailyBudget.objects.raw(
            f"SELECT id, spent, reserved, calls, refusals FROM {KeyDailyBudget._meta.db_table} "  # noqa: S608
            "WHERE api_key_id = %s AND day = %s LIMIT 1",
            [api_key.pk, day.isoformat()],
        )
    )
    row = (rows[0].spent, rows[0].reserved, rows[0].calls, rows[0].refusals) if rows else None
    if row is None:
        return BudgetSnapshot(day=day, limit=api_key.daily_limit)
    spent, reserved, calls, refusals = row
    return BudgetSnapshot(
        day=day,
        limit=api_key.daily_limit,
        spent=spent,
        reserved=reserved,
        calls=calls,
        refusals=refusals,
    )


def budgets_today(*, key_ids: Iterable[int]) -> dict[int, BudgetSnapshot]:
    """Today's snapshot for each of ``key_ids`` in one query (for key lists and /whoami)."""
    ids = list(key_ids)
    if not ids:
        return {}
    day = utc_today()
    rows = (
        APIKey.objects.filter(pk__in=ids)
        .annotate(today=FilteredRelation("llm_budgets", condition=Q(llm_budgets__day=day)))
        .values_list(
            "pk",
            "daily_limit",
            "today__spent",
            "today__reserved",
            "today__calls",
            "today__refusals",
        )
    )
    return {
        pk: BudgetSnapshot(
            day=day,
            limit=limit,
            spent=spent or ZERO,
            reserved=reserved or ZERO,
            calls=calls or 0,
            refusals=refusals or 0,
        )
        for pk, limit, spent, reserved, calls, refusals in rows
    }


def usage_recent(*, api_key: APIKey, limit: int = 20) -> list[LLMUsage]:
    return list(
        LLMUsage.objects.filter(api_key_id=api_key.pk).order_by("-created_at", "-id")[:limit]
    )


def usage_totals(*, queryset: QuerySet[LLMUsage]) -> dict[str, object]:
    """Sums over a (filtered) ledger queryset, for the admin's totals line."""
    totals = queryset.order_by().aggregate(
        calls=Count("id"),
        ok=Count("id", filter=Q(status="ok")),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        cost=Sum("cost"),
    )
    totals["prompt_tokens"] = totals["prompt_tokens"] or 0
    totals["completion_tokens"] = totals["completion_tokens"] or 0
    totals["cost"] = totals["cost"] or ZERO
    return totals


def price_list() -> list[str]:
    return list(
        ModelPrice.objects.filter(active=True).order_by("model").values_list("model", flat=True)
    )
