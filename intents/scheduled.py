"""The registry's scheduled jobs: waiver expiry and stale-intent flagging.

Both are idempotent (a second run finds nothing left to do) and correct when run late: they
compare against the current time, not against "since the last run".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actor import SCHEDULER, Actor
from audit.services import AuditedChange, auditlog_record_bulk
from t4site.errors import DomainError

from .models import OPEN_STATUSES, Intent, IntentStatus
from .selectors import intent_list_waivers_due
from .services import intent_transition

STALE_BATCH_SIZE = 5_000


@dataclass
class WaiverExpiryResult:
    expired: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class StaleResult:
    flagged: int
    cleared: int
    cutoff: datetime


def intent_expire_waivers(*, actor: Actor = SCHEDULER) -> WaiverExpiryResult:
    """Accepted intents past ``expires_at`` → expired, each through the lifecycle service.

    Each waiver is its own compare-and-set transition (``expected_status="accepted"``): one
    renewed by a human while the job runs is left alone and reported, never overwritten.
    """
    result = WaiverExpiryResult()
    due = list(intent_list_waivers_due().values_list("id", flat=True))
    for intent_id in due:
        reason = _expire_one(intent_id, actor=actor)
        if reason is None:
            result.expired.append(intent_id)
        else:
            result.skipped.append({"id": intent_id, "reason": reason})
    return result


@transaction.atomic
def _expire_one(intent_id: str, *, actor: Actor) -> str | None:
    """Expire one waiver; the reason it was left alone, or None."""
    # Re-check under a row lock: a waiver renewed since the list was read keeps its new
    # expiry instead of being expired on a stale decision.
    still_due = (
        Intent.objects.select_for_update()
        .filter(pk=intent_id, status=IntentStatus.ACCEPTED, expires_at__lte=timezone.now())
        .exists()
    )
    if not still_due:
        return "renewed or changed since the job started"
    try:
        intent_transition(
            intent_id=intent_id,
            to_status=IntentStatus.EXPIRED,
            actor=actor,
            expected_status=IntentStatus.ACCEPTED,
        )
    except DomainError as exc:
        return exc.detail
    return None


def _audit_flagged(ids: list[str], *, now: datetime, actor: Actor) -> None:
    # QuerySet.update bypasses django-auditlog's signals: record the flags explicitly.
    auditlog_record_bulk(
        model=Intent,
        changes=(
            AuditedChange(
                object_pk=intent_id,
                object_repr=intent_id,
                changes={"stale_since": ["None", now.isoformat()]},
                text="flagged stale",
            )
            for intent_id in ids
        ),
        actor=actor,
        extra={"job": "flag_stale_intents"},
        at=now,
    )


def intent_flag_stale(*, days: int | None = None, actor: Actor = SCHEDULER) -> StaleResult:
    """Flag open intents untouched for ``days`` (T4_STALE_DAYS) with ``stale_since``.

    Any change through the services clears the flag; this job also clears it on rows that
    left the open statuses by other paths (imports, bulk edits).
    """
    days = settings.T4_STALE_DAYS if days is None else days
    now = timezone.now()
    cutoff = now - timedelta(days=days)
    flagged = 0
    while True:
        with transaction.atomic():
            ids = list(
                Intent.objects.filter(
                    status__in=OPEN_STATUSES, modified_at__lt=cutoff, stale_since__isnull=True
                )
                .order_by("id")
                .values_list("id", flat=True)[:STALE_BATCH_SIZE]
            )
            if not ids:
                break
            count = Intent.objects.filter(id__in=ids, stale_since__isnull=True).update(
                stale_since=now
            )
            _audit_flagged(ids, now=now, actor=actor)
        flagged += count
    cleared = (
        Intent.objects.filter(stale_since__isnull=False)
        .exclude(status__in=OPEN_STATUSES)
        .update(stale_since=None)
    )
    return StaleResult(flagged=flagged, cleared=cleared, cutoff=cutoff)
