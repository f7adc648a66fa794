"""Intent reads: lists for the API and dashboards, and the metrics summary.

Every list returns a lazy queryset with ``created_by`` joined, so serialising a page costs one
query however many rows it has. The summary is computed with SQL aggregates only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Func, Q, QuerySet
from django.utils import timezone

from .models import OPEN_STATUSES, Intent, IntentStatus

S = IntentStatus

# SPEC "Intents": quality weights; every other code weighs 1.
QUALITY_WEIGHTS: dict[str, int] = {"F821": 3, "F401": 3, "B904": 2, "B008": 2, "RUF006": 2}


def _base() -> QuerySet[Intent]:
    return Intent.objects.select_related("created_by")


def intent_get(*, intent_id: str) -> Intent | None:
    return _base().filter(pk=intent_id).first()


def intent_list(
    *,
    status: Iterable[str] | None = None,
    owner: str | None = None,
    code: str | None = None,
    file: str | None = None,
    q: str | None = None,
    stale: bool | None = None,
) -> QuerySet[Intent]:
    """Newest first. ``status`` may hold several values; ``stale`` filters on ``stale_since``."""
    qs = _base()
    statuses = [s for s in (status or []) if s]
    if statuses:
        qs = qs.filter(status__in=statuses)
    if owner:
        qs = qs.filter(owner=owner)
    if code:
        qs = qs.filter(code=code)
    if file:
        qs = qs.filter(file=file)
    if q:
        qs = qs.filter(
            Q(id__icontains=q)
            | Q(file__icontains=q)
            | Q(owner__icontains=q)
            | Q(ticket__icontains=q)
            | Q(reason__icontains=q)
        )
    if stale is not None:
        qs = qs.filter(stale_since__isnull=not stale)
    return qs.order_by("-created_at", "id")


def intent_list_stale(*, days: int, now: datetime | None = None) -> QuerySet[Intent]:
    """Open intents (reserved/planned/committed) not modified for ``days`` days, oldest first."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return (
        _base()
        .filter(status__in=OPEN_STATUSES, modified_at__lt=cutoff)
        .order_by("modified_at", "id")
    )


def intent_list_by_owner(*, owner: str) -> QuerySet[Intent]:
    return _base().filter(owner=owner).order_by("-created_at", "id")


def intent_list_by_file(*, file: str) -> QuerySet[Intent]:
    return _base().filter(file=file).order_by("line", "code", "id")


def intent_list_expiring(*, within_days: int, now: datetime | None = None) -> QuerySet[Intent]:
    """Accepted waivers whose ``expires_at`` falls within the next ``within_days`` days."""
    now = now or timezone.now()
    return (
        _base()
        .filter(
            status=S.ACCEPTED,
            expires_at__isnull=False,
            expires_at__lte=now + timedelta(days=within_days),
        )
        .order_by("expires_at", "id")
    )


def intent_list_waivers_due(*, now: datetime | None = None) -> QuerySet[Intent]:
    """Accepted waivers past their expiry: what the expiry job moves to ``expired``."""
    return Intent.objects.filter(status=S.ACCEPTED, expires_at__lte=now or timezone.now()).order_by(
        "expires_at", "id"
    )


class _EpochSeconds(Func):
    """Seconds since the epoch of a timestamp, in native SQL per backend."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(julianday(%(expressions)s) * 86400.0)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)")


def metrics_summary() -> dict[str, Any]:
    """Totals, counts by status and code, the quality score and the mean time to resolve.

    Quality rule (the validator applies the same one to annotations): the population is every
    intent that is not ``implemented`` (an implemented intent's finding is gone from the code).
    An intent *passes* when all of these hold:

    * ``owner`` is not empty;
    * ``reason``, trimmed and lower-cased, is not a generic reason ("", "todo", "fixme",
      "fix me", "kept for future", "kept for future use", "placeholder");
    * ``ticket`` is not empty when the status is planned, committed, accepted or expired.

    ``quality_score = 100 * weighted_good / weighted_total`` (rounded to 2 places; ``None``
    when nothing is scored), each intent weighing ``QUALITY_WEIGHTS[code]`` or 1.
    ``avg_time_to_resolve_days`` is the mean of ``resolved_at - created_at`` over implemented
    intents, in days (``None`` when none is resolved).

    ``Intent.quality_ok`` is the rule as a stored generated column.

    Two queries, both answered from covering indexes: counts grouped by (status, code,
    quality_ok) — weights are applied to those few grouped counts — and one average.
    """
    # COUNT(*), not COUNT(id): the text primary key is not in the covering index.
    grouped = (
        Intent.objects.values("status", "code", "quality_ok").annotate(n=Count("*")).order_by()
    )
    total = 0
    by_status: dict[str, int] = dict.fromkeys(S.values, 0)
    by_code: dict[str, int] = {}
    weighted_total = weighted_good = scored = good = 0
    for row in grouped:
        n, status, code = row["n"], row["status"], row["code"]
        total += n
        by_status[status] = by_status.get(status, 0) + n
        by_code[code] = by_code.get(code, 0) + n
        if status == S.IMPLEMENTED:
            continue  # its finding is gone from the code: not scored
        weight = QUALITY_WEIGHTS.get(code, 1)
        scored += n
        weighted_total += weight * n
        if row["quality_ok"]:
            good += n
            weighted_good += weight * n
    resolve = Intent.objects.filter(status=S.IMPLEMENTED, resolved_at__isnull=False).aggregate(
        seconds=Avg(_EpochSeconds(F("resolved_at")) - _EpochSeconds(F("created_at")))
    )
    seconds = resolve["seconds"]
    score = round(100.0 * weighted_good / weighted_total, 2) if weighted_total else None
    return {
        "total": total,
        "by_status": by_status,
        "by_code": dict(sorted(by_code.items(), key=lambda item: (-item[1], item[0]))),
        "quality_score": score,
        "quality": {
            "scored": scored,
            "passing": good,
            "weighted_good": weighted_good,
            "weighted_total": weighted_total,
            "weights": QUALITY_WEIGHTS,
        },
        "avg_time_to_resolve_days": None if seconds is None else round(seconds / 86400.0, 3),
    }
