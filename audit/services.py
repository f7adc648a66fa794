"""Audit writes: retention of the request log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import RequestLog

PRUNE_BATCH_SIZE = 5_000


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    batches: int
    cutoff: datetime


def requestlog_prune(
    *, older_than_days: int | None = None, batch_size: int = PRUNE_BATCH_SIZE
) -> PruneResult:
    """Delete request-log rows older than the retention period, in bounded batches.

    Each batch is its own short transaction deleting at most ``batch_size`` rows by primary
    key, so a large backlog never holds a long lock or one huge statement. django-auditlog's
    entries live in another table and are never touched.
    """
    days = settings.T4_AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < 1:
        raise ValueError("retention must be at least one day")
    batch_size = max(1, min(batch_size, PRUNE_BATCH_SIZE))
    cutoff = timezone.now() - timedelta(days=days)
    deleted = batches = 0
    while True:
        with transaction.atomic():
            ids = list(
                RequestLog.objects.filter(time__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            count, _ = RequestLog.objects.filter(id__in=ids).delete()
        deleted += count
        batches += 1
    return PruneResult(deleted=deleted, batches=batches, cutoff=cutoff)
