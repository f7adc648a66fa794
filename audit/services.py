"""Audit writes: explicit audit entries for bulk changes, and request-log retention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from .actor import Actor
from .models import RequestLog

PRUNE_BATCH_SIZE = 5_000


@dataclass(frozen=True)
class AuditedChange:
    """One object changed by a bulk statement: what django-auditlog would have recorded."""

    object_pk: str | int
    object_repr: str
    changes: dict[str, list[str]]
    text: str


def auditlog_record_bulk(
    *,
    model: type[models.Model],
    changes: Iterable[AuditedChange],
    actor: Actor,
    extra: Mapping[str, Any],
    at: datetime,
) -> None:
    """Write UPDATE audit entries for changes that bypassed model signals.

    ``QuerySet.update`` and ``bulk_create`` send no signals, so django-auditlog sees nothing;
    services that use them for speed record the changes here, with the same actor fields as
    ``Actor.audit_context`` would set.
    """
    content_type = ContentType.objects.get_for_model(model)
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                content_type=content_type,
                object_pk=str(change.object_pk),
                object_id=change.object_pk if isinstance(change.object_pk, int) else None,
                object_repr=change.object_repr,
                action=LogEntry.Action.UPDATE,
                changes=change.changes,
                changes_text=change.text,
                actor_email=actor.label[:254],
                additional_data={"actor": actor.label, **extra},
                remote_addr=actor.remote_addr,
                timestamp=at,
            )
            for change in changes
        ],
        batch_size=1000,
    )


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
