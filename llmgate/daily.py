"""Closing a UTC day: roll the ledger into DailySpend and release leftover reservations.

Budgets are already per UTC day (``KeyDailyBudget``), so a new day starts clean even if this
job never runs; closing a day is bookkeeping. It is idempotent — the day's rows are
recomputed from the ledger and upserted — and it catches up every day missed since the last
close, so a late or repeated run changes nothing more. A call still in flight at midnight
settles after its day was closed: its reservation was already released (settling never takes
a reservation below zero) and its ledger row makes the next run close that day again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone

from audit.actor import SCHEDULER, Actor
from audit.services import AuditedChange, auditlog_record_bulk

from .models import ZERO, DailySpend, KeyDailyBudget, LLMUsage, UsageStatus
from .selectors import utc_today

MAX_CATCH_UP_DAYS = 400


@dataclass
class CloseDayResult:
    days: list[date] = field(default_factory=list)
    rows: int = 0
    cost: Decimal = ZERO
    released_reservations: int = 0


def _days_to_close(today: date) -> list[date]:
    """Every day before today from the day after the last closed one (or the first usage),
    and every earlier day whose roll-up no longer matches its ledger or that still holds a
    reservation."""
    lower = today - timedelta(days=MAX_CATCH_UP_DAYS)
    days: set[date] = set()
    last_closed = DailySpend.objects.aggregate(day=Max("day"))["day"]
    if last_closed is not None:
        start = last_closed + timedelta(days=1)
    else:
        start = LLMUsage.objects.aggregate(day=Min("day"))["day"] or today
    start = max(start, lower)
    days.update(start + timedelta(days=n) for n in range((today - start).days))
    # A day left unclosed before the last closed one (days closed by hand out of order), or
    # a call that settled after its day was closed (it started before midnight): the count
    # of ledger rows then differs from the roll-up's, whatever the clocks of the hosts say.
    window = {"day__gte": lower, "day__lt": today}
    ledger = LLMUsage.objects.filter(**window).values_list("day").annotate(n=Count("id"))
    rolled = dict(
        DailySpend.objects.filter(**window)
        .values_list("day")
        .annotate(n=Sum(F("calls") + F("refusals")))
        .order_by()
    )
    days.update(day for day, n in ledger.order_by() if rolled.get(day) != n)
    days.update(
        KeyDailyBudget.objects.filter(**window)
        .exclude(reserved=ZERO)
        .values_list("day", flat=True)
        .distinct()
    )
    return sorted(days)


@transaction.atomic
def _close_one(day: date, *, actor: Actor) -> tuple[int, Decimal, int]:
    totals = (
        LLMUsage.objects.filter(day=day)
        .values("api_key_id", "model")
        .annotate(
            # The agent comes from the key; if the key's agent_id changed during the day the
            # row takes one of them rather than splitting the (key, model, day) total.
            agent=Max("agent_id"),
            calls=Count("id", filter=~Q(status=UsageStatus.REFUSED)),
            refusals=Count("id", filter=Q(status=UsageStatus.REFUSED)),
            errors=Count("id", filter=Q(status=UsageStatus.ERROR)),
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            cost=Sum("cost"),
        )
        .order_by()
    )
    now = timezone.now()
    rows = [
        DailySpend(
            api_key_id=t["api_key_id"],
            agent_id=t["agent"],
            model=t["model"],
            day=day,
            calls=t["calls"],
            refusals=t["refusals"],
            errors=t["errors"],
            prompt_tokens=t["prompt"] or 0,
            completion_tokens=t["completion"] or 0,
            cost=t["cost"] or ZERO,
            closed_at=now,
        )
        for t in totals
    ]
    DailySpend.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["api_key", "model", "day"],
        update_fields=[
            "agent_id",
            "calls",
            "refusals",
            "errors",
            "prompt_tokens",
            "completion_tokens",
            "cost",
            "closed_at",
        ],
    )
    # A process that died between reserve and settle leaves a reservation behind; the day is
    # over, so it can no longer be spent: release it (the seed's `daily_used` reset).
    released = KeyDailyBudget.objects.filter(day=day, reserved__gt=0).update(reserved=ZERO)
    total = sum((row.cost for row in rows), ZERO)
    # bulk_create bypasses django-auditlog's signals: one explicit entry per closed day.
    auditlog_record_bulk(
        model=DailySpend,
        changes=[
            AuditedChange(
                object_pk=day.isoformat(),
                object_repr=f"close day {day.isoformat()}",
                changes={"rows": ["", str(len(rows))], "cost": ["", str(total)]},
                text=f"closed {day.isoformat()}: {len(rows)} row(s), cost {total}",
            )
        ],
        actor=actor,
        extra={"job": "close_day"},
        at=now,
    )
    return len(rows), total, released


def llm_close_day(*, day: date | None = None, actor: Actor = SCHEDULER) -> CloseDayResult:
    """Close ``day`` (a past UTC day), or every unclosed day before today when None."""
    today = utc_today()
    if day is not None and day >= today:
        raise ValueError(f"{day} is not over yet (today is {today} UTC)")
    days = [day] if day is not None else _days_to_close(today)
    result = CloseDayResult()
    for each in days:
        rows, cost, released = _close_one(each, actor=actor)
        result.days.append(each)
        result.rows += rows
        result.cost += cost
        result.released_reservations += released
    return result
