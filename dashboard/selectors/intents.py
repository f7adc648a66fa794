"""Intents: counts by status, owner and code; stale intents; expiring waivers."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from intents.models import OPEN_STATUSES, Intent, IntentStatus
from intents.selectors import intent_list_expiring, intent_list_stale

from .common import Filters


def _intents(filters: Filters, *, dated: bool) -> QuerySet[Intent]:
    qs = Intent.objects.all()
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    if dated:
        qs = qs.filter(created_at__gte=filters.start_dt, created_at__lt=filters.end_dt)
    return qs


def intent_counts(*, filters: Filters, by: str, dated: bool = False, limit: int = 100) -> list:
    """``[(value, count), ...]`` grouped by ``status``, ``owner`` or ``code``, largest first."""
    if by not in {"status", "owner", "code"}:
        raise ValueError(by)
    rows = (
        _intents(filters, dated=dated)
        .order_by()
        .values_list(by)
        .annotate(n=Count("*"))
        .order_by("-n", by)[:limit]
    )
    return [(value, n) for value, n in rows]


def intent_status_counts(*, filters: Filters, dated: bool = False) -> dict[str, int]:
    counts = dict.fromkeys(IntentStatus.values, 0)
    counts.update(dict(intent_counts(filters=filters, by="status", dated=dated)))
    return counts


def stale_intents(*, filters: Filters, days: int, limit: int = 100) -> list[Intent]:
    qs = intent_list_stale(days=days)
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    return list(qs[:limit])


def expiring_waivers(*, filters: Filters, within_days: int = 14, limit: int = 100) -> list:
    qs = intent_list_expiring(within_days=within_days)
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    return list(qs[:limit])


def open_intents_by_status() -> dict[str, int]:
    rows = (
        Intent.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("status")
        .annotate(n=Count("*"))
    )
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    counts.update(dict(rows))
    return counts
