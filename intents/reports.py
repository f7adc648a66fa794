"""Validator report upload: store the snapshot and, on request, sync intents from it.

The code is the source of truth for where a finding lives: an annotation's id names its
intent, and the intent's file and line follow the annotation. Annotations whose finding ruff
no longer reports (``stale_annotations``) mean the debt was paid: their intents move to
implemented. Every intent change goes through the lifecycle services, so each is validated
and audited; one annotation that breaks a rule is skipped with its reason, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.dateparse import parse_datetime

from apikeys.models import APIKey
from audit.actor import Actor
from t4site.db import MAX_INT_COLUMN
from t4site.errors import DomainError
from t4site.redaction import contains_api_key, redact_data

from .models import CODE_RE, ID_RE, TEXT_LIMIT, Intent, IntentStatus, QualityReport
from .services import intent_create, intent_transition, intent_update, transition_allowed

# Annotation fields copied onto a new or existing intent (file/line come from the finding).
SYNCED_FIELDS = ("owner", "ticket", "reason", "reason_category", "suggestion")


class _Unusable(Exception):
    """An annotation this sync cannot store; its message is the reason reported."""


def _limit(name: str) -> int:
    return Intent._meta.get_field(name).max_length or TEXT_LIMIT


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
    """The synced fields, or ``_Unusable`` when one cannot be stored as it is."""
    annotation = item.get("annotation") if isinstance(item.get("annotation"), dict) else {}
    values: dict[str, Any] = {}
    for name in SYNCED_FIELDS:
        if name in annotation and annotation[name] is not None:
            value = str(annotation[name]).strip()
            if len(value) > _limit(name):
                raise _Unusable(f"{name} is longer than {_limit(name)} characters")
            values[name] = value
    return values


def _check_storable(item: Mapping[str, Any]) -> None:
    """Refuse what no intent may hold: an API key (never stored in plain text) or a NUL."""
    text = json.dumps(item.get("annotation"), default=str) + str(item.get("file"))
    if contains_api_key(text):
        raise _Unusable("the annotation holds an API key")
    if "\\u0000" in text or "\x00" in text:
        raise _Unusable("the annotation holds a NUL character")


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
    if (
        not isinstance(file, str)
        or not isinstance(line, int)
        or isinstance(line, bool)
        or not 1 <= line <= MAX_INT_COLUMN
    ):
        result.skipped.append({"id": intent_id, "reason": "annotation has no file and line"})
        return
    file = file.strip()
    if len(file) > _limit("file"):
        result.skipped.append({"id": intent_id, "reason": "file path too long"})
        return
    code = _text(item.get("code"), 16) or "UNKNOWN"
    code = code if CODE_RE.match(code) else "UNKNOWN"
    wanted_status = _text(item.get("status"), 16)
    if wanted_status not in IntentStatus.values or wanted_status == IntentStatus.EXPIRED:
        wanted_status = ""
    try:
        _check_storable(item)
        fields = _annotation_fields(item)
    except _Unusable as exc:
        result.skipped.append({"id": intent_id, "reason": str(exc)})
        return
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
        if existing.status == IntentStatus.EXPIRED:
            # The expiry job is ahead of the comment, which still says "accepted": a lapsed
            # waiver is renewed deliberately (with a new expiry), never by a re-upload.
            status = None
        if status and not transition_allowed(existing.status, status):
            status = None  # the registry is ahead of the comment; keep it
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
    if not isinstance(score, int | float) or isinstance(score, bool):
        return None
    try:
        value = float(score)
    except OverflowError:
        return None
    return value if 0.0 <= value <= 100.0 else None


def _storable_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as stored: secrets redacted, NULs (which PostgreSQL JSON refuses) dropped."""
    try:
        return _without_nul(redact_data(dict(data)))  # type: ignore[no-any-return]
    except RecursionError:
        raise DomainError("The report's metrics are nested too deeply.") from None


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(str(k)): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _each(items: list[Mapping[str, Any]], sync_one: Any, result: SyncResult, **kwargs: Any) -> None:
    """Sync ``items`` one by one. What the database refuses for one annotation (a value no
    column holds) skips that annotation only: the services that write are atomic blocks, so
    their savepoint is rolled back and the report's transaction goes on; the annotations
    that change nothing cost no savepoint."""
    for item in items:
        try:
            sync_one(item, result=result, **kwargs)
        except (DatabaseError, ValueError, OverflowError) as exc:
            reason = f"refused by the database ({type(exc).__name__})"
            result.skipped.append({"id": _text(item.get("id"), 200), "reason": reason})


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
        # An annotation listing several codes is stale for one code while still in the code
        # for another: it is not paid off until it is stale for every code.
        live = {_text(item.get("id"), 200) for item in annotated}
        stale = [item for item in stale if _text(item.get("id"), 200) not in live]
        ids = live | {_text(item.get("id"), 200) for item in stale}
        known = Intent.objects.in_bulk([intent_id for intent_id in ids if intent_id])
        _each(annotated, _sync_annotation, result, api_key=api_key, actor=actor, known=known)
        _each(stale, _sync_stale, result, actor=actor, known=known)
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
        summary=_storable_json(summary),
        metrics=_storable_json(metrics),
        sync_result=result.as_dict() if result else None,
    )
    return report, result
