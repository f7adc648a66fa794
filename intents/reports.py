"""Validator report upload: store the snapshot and, on request, sync intents from it.

The code is the source of truth for where a finding lives: an annotation's id names its
intent, and the intent's file and line follow the annotation. Annotations whose finding ruff
no longer reports (``stale_annotations``) mean the debt was paid: their intents move to
implemented. Every intent change goes through the lifecycle services, so each is validated
and audited; one annotation that breaks a rule is skipped with its reason, never fatal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from apikeys.models import APIKey
from audit.actor import Actor
from t4site.errors import DomainError

from .models import CODE_RE, ID_RE, Intent, IntentStatus, QualityReport
from .services import intent_create, intent_transition, intent_update, transition_allowed

# Annotation fields copied onto a new or existing intent (file/line come from the finding).
SYNCED_FIELDS = ("owner", "ticket", "reason", "reason_category", "suggestion")


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    implemented: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(value: Any, limit: int) -> str:
    return str(value).strip()[:limit] if value is not None else ""


def _annotation_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    annotation = item.get("annotation") if isinstance(item.get("annotation"), dict) else {}
    values: dict[str, Any] = {}
    for name in SYNCED_FIELDS:
        if name in annotation and annotation[name] is not None:
            values[name] = _text(annotation[name], 2000 if name != "owner" else 128)
    return values


def _sync_annotation(
    item: Mapping[str, Any],
    *,
    api_key: APIKey,
    actor: Actor,
    known: dict[str, Intent],
    result: SyncResult,
) -> None:
    intent_id = _text(item.get("id"), 200)
    if not ID_RE.match(intent_id):
        result.skipped.append({"id": intent_id, "reason": "annotation has no valid id"})
        return
    file, line = item.get("file"), item.get("line")
    if not isinstance(file, str) or not isinstance(line, int) or line < 1:
        result.skipped.append({"id": intent_id, "reason": "annotation has no file and line"})
        return
    code = _text(item.get("code"), 16) or "UNKNOWN"
    code = code if CODE_RE.match(code) else "UNKNOWN"
    wanted_status = _text(item.get("status"), 16)
    if wanted_status not in IntentStatus.values or wanted_status == IntentStatus.EXPIRED:
        wanted_status = ""
    fields = _annotation_fields(item)
    existing = known.get(intent_id)
    try:
        if existing is None:
            known[intent_id] = intent_create(
                id=intent_id,
                code=code,
                file=file,
                line=line,
                actor=actor,
                created_by=api_key,
                status=wanted_status or None,
                raw={"source": "report", "annotation": item.get("annotation")},
                **fields,
            )
            result.created.append(intent_id)
            return
        changes = {
            name: value
            for name, value in {**fields, "file": file, "line": line}.items()
            if getattr(existing, name) != value
        }
        status = wanted_status if wanted_status and wanted_status != existing.status else None
        if status and not transition_allowed(existing.status, status):
            status = None  # the registry is ahead of the comment (e.g. expired); keep it
        if not changes and status is None:
            result.unchanged += 1
            return
        known[intent_id] = intent_update(
            intent_id=intent_id, actor=actor, changes=changes, status=status
        )
        result.updated.append(intent_id)
    except DomainError as exc:
        result.skipped.append({"id": intent_id, "reason": exc.detail})


def _sync_stale(
    item: Mapping[str, Any], *, actor: Actor, known: dict[str, Intent], result: SyncResult
) -> None:
    intent_id = _text(item.get("id"), 200)
    intent = known.get(intent_id)
    if intent is None or intent.status == IntentStatus.IMPLEMENTED:
        return
    if not transition_allowed(intent.status, IntentStatus.IMPLEMENTED):
        result.skipped.append({"id": intent_id, "reason": f"cannot implement from {intent.status}"})
        return
    try:
        known[intent_id] = intent_transition(
            intent_id=intent_id,
            to_status=IntentStatus.IMPLEMENTED,
            actor=actor,
            expected_status=intent.status,
        )
        result.implemented.append(intent_id)
    except DomainError as exc:
        result.skipped.append({"id": intent_id, "reason": exc.detail})


def _score(metrics: Mapping[str, Any]) -> float | None:
    score = metrics.get("annotation_quality_score")
    return float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None


@transaction.atomic
def report_create(
    *,
    status: str,
    summary: Mapping[str, int],
    metrics: Mapping[str, Any],
    api_key: APIKey,
    actor: Actor,
    timestamp: str | None = None,
    repository: str = "",
    commit: str = "",
    annotations: list[Mapping[str, Any]] | None = None,
    stale_annotations: list[Mapping[str, Any]] | None = None,
    sync: bool = False,
) -> tuple[QualityReport, SyncResult | None]:
    """Store one validator report; with ``sync`` upsert intents from its annotations."""
    result: SyncResult | None = None
    if sync:
        result = SyncResult()
        annotated = [item for item in annotations or [] if isinstance(item, Mapping)]
        stale = [item for item in stale_annotations or [] if isinstance(item, Mapping)]
        # Every intent the report names, read in one query (not one per annotation); the sync
        # keeps this map current with what each service call returns, so an id listed twice
        # sees the first one's write.
        ids = {_text(item.get("id"), 200) for item in annotated + stale}
        known = Intent.objects.in_bulk([intent_id for intent_id in ids if intent_id])
        for item in annotated:
            _sync_annotation(item, api_key=api_key, actor=actor, known=known, result=result)
        for item in stale:
            _sync_stale(item, actor=actor, known=known, result=result)
    parsed: datetime | None = parse_datetime(timestamp) if timestamp else None
    report = QualityReport.objects.create(
        uploaded_by=api_key,
        repository=repository,
        commit=commit,
        status=status,
        report_timestamp=parsed,
        total_findings=summary["total_findings"],
        annotated=summary["annotated"],
        unannotated=summary["unannotated"],
        legacy_format=summary["legacy_format"],
        waived=summary["waived"],
        quality_issues=summary["quality_issues"],
        quality_score=_score(metrics),
        summary=dict(summary),
        metrics=dict(metrics),
        sync_result=result.as_dict() if result else None,
    )
    return report, result
