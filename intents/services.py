"""Intent writes: creation, field updates, lifecycle transitions and deletion.

Every change is a compare-and-set UPDATE on the row's ``status`` and ``modified_at`` as they
were read, so two concurrent changes of one intent cannot both win: the loser gets a 409 and
re-reads. ``QuerySet.update`` bypasses django-auditlog's signals, so the audit entry is written
explicitly, under the actor's audit context.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.models import APIKey
from audit.actor import Actor
from t4site.errors import Conflict, DomainError, InvalidTransition, NotFound

from .models import CODE_RE, ID_RE, RESERVED_IDS, Intent, IntentStatus, is_generic_reason

S = IntentStatus

# SPEC "Intents", lifecycle table. Anything not listed (including X → X) is refused.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.RESERVED: frozenset({S.PLANNED, S.COMMITTED, S.ACCEPTED, S.IMPLEMENTED}),
    S.PLANNED: frozenset({S.COMMITTED, S.ACCEPTED, S.IMPLEMENTED}),
    S.COMMITTED: frozenset({S.IMPLEMENTED, S.PLANNED}),
    S.ACCEPTED: frozenset({S.PLANNED, S.COMMITTED, S.IMPLEMENTED, S.EXPIRED}),
    S.EXPIRED: frozenset({S.PLANNED, S.COMMITTED, S.ACCEPTED, S.IMPLEMENTED}),
    S.IMPLEMENTED: frozenset({S.PLANNED}),
}
DEFAULT_WAIVER_DAYS = 90

# Fields a client (or an admin) may set; timestamps, created_by and stale_since are the server's.
EDITABLE_FIELDS: tuple[str, ...] = (
    "code",
    "type",
    "file",
    "line",
    "import_text",
    "reason_category",
    "reason",
    "suggestion",
    "owner",
    "ticket",
    "eta",
    "expires_at",
    "raw",
)
_STRIPPED_FIELDS = ("owner", "ticket", "reason_category", "code", "file")


class RuleViolation(DomainError):
    """A change that would leave an intent without a field its status requires."""

    status_code = 422
    code = "rule_violation"


def transition_allowed(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())


def past_expiry_refusal(
    to_status: str | None, expires_at: datetime | None, now: datetime
) -> str | None:
    """Why a waiver (``to_status`` accepted) expiring at ``expires_at`` is refused, or None:
    its expiry must lie ahead. One rule for create, update and the admin form."""
    if to_status == S.ACCEPTED and expires_at is not None and expires_at <= now:
        return "A waiver's expires_at must be in the future."
    return None


def expiry_refusal(to_status: str, expires_at: datetime | None, now: datetime) -> str | None:
    """Why a move to ``to_status`` is refused for a waiver expiring at ``expires_at``, or None.

    SPEC: accepted → expired is the expiry job's move, made once ``expires_at`` has passed.
    Refusing it earlier keeps "expired" meaning "lapsed" (reports, waiver lists and metrics
    rely on it); a waiver ended early goes to planned or implemented, or gets an
    ``expires_at`` in the past in the same change.
    """
    if to_status == S.EXPIRED and (expires_at is None or expires_at > now):
        return (
            "A waiver expires when its expires_at has passed; end it early by moving it to "
            "planned or implemented, or set expires_at to a past time."
        )
    return None


def missing_for_status(intent: Intent, status: str) -> list[str]:
    """Fields that ``status`` requires and ``intent`` lacks (SPEC field rules)."""
    missing: list[str] = []
    if status in (S.PLANNED, S.COMMITTED, S.ACCEPTED) and not intent.owner.strip():
        missing.append("owner")
    if status in (S.PLANNED, S.COMMITTED) and not intent.ticket.strip():
        missing.append("ticket")
    if status == S.ACCEPTED:
        if is_generic_reason(intent.reason):
            missing.append("reason")
        if intent.expires_at is None:
            missing.append("expires_at")
    return missing


def validate_file_path(value: str) -> str | None:
    """Why ``value`` is not an acceptable repository-relative path, or None."""
    if not value or not value.strip():
        return "file must not be empty."
    if "\x00" in value:
        return "file must not contain NUL characters."
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        return "file must be a path relative to the repository root."
    if ".." in re.split(r"[\\/]", value):
        return "file must not contain '..' segments."
    return None


def check_values(values: Mapping[str, Any]) -> None:
    """Format checks for callers that do not come through the API serializers."""
    if "id" in values:
        intent_id = values["id"]
        if not isinstance(intent_id, str) or not ID_RE.match(intent_id):
            raise DomainError(
                "id must be 1-128 characters of A-Z a-z 0-9 . _ : -", code="invalid_id"
            )
        if intent_id in RESERVED_IDS:
            raise DomainError(f"'{intent_id}' is a reserved path segment.", code="invalid_id")
    if "code" in values and not CODE_RE.match(str(values["code"])):
        raise DomainError("code must be a ruff rule code or UNKNOWN.", code="invalid_code")
    if "file" in values:
        problem = validate_file_path(str(values["file"]))
        if problem:
            raise DomainError(problem, code="invalid_file")
    if "line" in values and (not isinstance(values["line"], int) or values["line"] < 1):
        raise DomainError("line must be an integer >= 1.", code="invalid_line")
    if "type" in values and values["type"] not in ("lint", "import"):
        raise DomainError("type must be lint or import.", code="invalid_type")


def _normalise(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise DomainError(
            f"These fields cannot be set: {', '.join(unknown)}.", code="read_only_fields"
        )
    values = dict(changes)
    for name in _STRIPPED_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    for name in ("import_text", "reason", "suggestion", "owner", "ticket", "reason_category"):
        if name in values and values[name] is None:
            values[name] = ""
    if "raw" in values and values["raw"] is None:
        values["raw"] = {}
    check_values(values)
    return values


def _write_audit(old: Intent, new: Intent, actor: Actor) -> None:
    changes = model_instance_diff(old, new)
    if not changes:
        return
    with actor.audit_context():
        LogEntry.objects.log_create(new, action=LogEntry.Action.UPDATE, changes=changes)


def _apply(
    *,
    intent_id: str,
    actor: Actor,
    changes: Mapping[str, Any],
    to_status: str | None,
    expected_status: str | None,
    strict_transition: bool,
) -> Intent:
    values = _normalise(changes)
    current = Intent.objects.filter(pk=intent_id).first()
    if current is None:
        raise NotFound(f"No intent with id '{intent_id}'.")
    if expected_status is not None and current.status != expected_status:
        raise Conflict(
            f"Intent '{intent_id}' is {current.status}, not {expected_status}.",
            code="status_conflict",
            extra={"status": current.status},
        )
    old_status = current.status
    new_status = old_status if to_status is None else to_status
    if to_status is not None and to_status not in S.values:
        raise InvalidTransition(
            f"Unknown status '{to_status}'.", extra={"from": old_status, "to": to_status}
        )
    transitioning = new_status != old_status or (strict_transition and to_status is not None)
    if transitioning and not transition_allowed(old_status, new_status):
        allowed = sorted(ALLOWED_TRANSITIONS.get(old_status, ()))
        raise InvalidTransition(
            f"An intent cannot go from {old_status} to {new_status}.",
            extra={"from": old_status, "to": new_status, "allowed": allowed},
        )

    if not transitioning and all(getattr(current, k) == v for k, v in values.items()):
        # Nothing would change: no write, no audit entry, and the stale clock keeps running
        # (an empty or identical PATCH must not make an intent look attended to).
        return current
    now = timezone.now()
    updated = copy.copy(current)
    for name, value in values.items():
        setattr(updated, name, value)
    # A waiver without an explicit expiry gets the default; a renewal gets a fresh one.
    renewing = updated.expires_at is None or updated.expires_at <= now
    if transitioning and new_status == S.ACCEPTED and "expires_at" not in values and renewing:
        updated.expires_at = now + timedelta(days=DEFAULT_WAIVER_DAYS)

    if transitioning:
        missing = missing_for_status(updated, new_status)
        if missing:
            hint = " (reason must not be generic)" if "reason" in missing else ""
            raise InvalidTransition(
                f"Status {new_status} needs: {', '.join(missing)}{hint}.",
                extra={"from": old_status, "to": new_status, "missing": missing},
            )
        refusal = past_expiry_refusal(new_status, updated.expires_at, now)
        if refusal:
            raise InvalidTransition(
                refusal, extra={"from": old_status, "to": new_status, "missing": ["expires_at"]}
            )
        refusal = expiry_refusal(new_status, updated.expires_at, now)
        if refusal:
            raise InvalidTransition(
                refusal,
                extra={
                    "from": old_status,
                    "to": new_status,
                    "expires_at": updated.expires_at and updated.expires_at.isoformat(),
                },
            )
    else:
        # Without a transition only the fields being changed are held to the status's rules,
        # so a legacy row that already breaks them can still be edited otherwise.
        broken = [name for name in missing_for_status(updated, new_status) if name in values]
        if broken:
            raise RuleViolation(
                f"Status {new_status} needs: {', '.join(broken)}.",
                extra={"status": new_status, "missing": broken},
            )

    updated.status = new_status
    if transitioning and new_status == S.IMPLEMENTED:
        updated.resolved_at = now
    elif transitioning and old_status == S.IMPLEMENTED:
        updated.resolved_at = None  # reopened
    updated.modified_at = now
    updated.stale_since = None

    fields = {
        **values,
        "status": updated.status,
        "expires_at": updated.expires_at,
        "resolved_at": updated.resolved_at,
        "modified_at": now,
        "stale_since": None,
    }
    # Compare-and-set: the row must still be what validation looked at.
    rows = Intent.objects.filter(
        pk=intent_id, status=old_status, modified_at=current.modified_at
    ).update(**fields)
    if rows != 1:
        if not Intent.objects.filter(pk=intent_id).exists():
            raise NotFound(f"No intent with id '{intent_id}'.")
        raise Conflict(
            f"Intent '{intent_id}' was changed concurrently; read it again and retry.",
            code="concurrent_update",
        )
    _write_audit(current, updated, actor)
    return updated


@transaction.atomic
def intent_update(
    *,
    intent_id: str,
    actor: Actor,
    changes: Mapping[str, Any],
    status: str | None = None,
    expected_status: str | None = None,
) -> Intent:
    """Change fields and, when ``status`` differs from the current one, move it.

    ``status`` equal to the current status is no transition (clients may send the whole
    object back). Raises NotFound, InvalidTransition (422), RuleViolation (422) or Conflict
    (409, concurrent change or ``expected_status`` mismatch).
    """
    return _apply(
        intent_id=intent_id,
        actor=actor,
        changes=changes,
        to_status=status,
        expected_status=expected_status,
        strict_transition=False,
    )


@transaction.atomic
def intent_transition(
    *,
    intent_id: str,
    to_status: str,
    actor: Actor,
    expected_status: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Intent:
    """Move an intent along the lifecycle (SPEC table); ``X → X`` is refused too.

    ``expected_status`` makes the caller's own read part of the compare-and-set (the waiver
    expiry job passes ``expected_status="accepted"``). ``changes`` are applied in the same
    update, e.g. ``{"owner": ..., "ticket": ...}`` for planned or ``{"expires_at": ...}``.
    """
    return _apply(
        intent_id=intent_id,
        actor=actor,
        changes=changes or {},
        to_status=to_status,
        expected_status=expected_status,
        strict_transition=True,
    )


@transaction.atomic
def intent_create(
    *,
    id: str,
    code: str,
    file: str,
    line: int,
    actor: Actor,
    created_by: APIKey | None = None,
    status: str | None = None,
    **fields: Any,
) -> Intent:
    """Register an intent as ``reserved``; a requested ``status`` is reached via the lifecycle.

    The same id again → Conflict (409, ``duplicate_id``).
    """
    values = _normalise({"code": code, "file": file, "line": line, **fields})
    check_values({"id": id})
    # Checked here: the transition below would take a past expiry for "none given" and
    # replace it by the default, where PATCH refuses the same value.
    refusal = past_expiry_refusal(status, values.get("expires_at"), timezone.now())
    if refusal:
        raise InvalidTransition(
            refusal, extra={"from": S.RESERVED, "to": status, "missing": ["expires_at"]}
        )
    if Intent.objects.filter(pk=id).exists():
        raise Conflict(f"An intent with id '{id}' already exists.", code="duplicate_id")
    now = timezone.now()
    try:
        with transaction.atomic(), actor.audit_context():
            intent = Intent.objects.create(
                id=id,
                status=S.RESERVED,
                created_at=now,
                modified_at=now,
                created_by=created_by,
                **values,
            )
    except IntegrityError as exc:  # lost a race with another create of the same id
        raise Conflict(f"An intent with id '{id}' already exists.", code="duplicate_id") from exc
    if status is not None and status != S.RESERVED:
        intent = intent_transition(intent_id=id, to_status=status, actor=actor)
    return intent


@transaction.atomic
def intent_delete(*, intent_id: str, actor: Actor) -> None:
    intent = Intent.objects.filter(pk=intent_id).first()
    if intent is None:
        raise NotFound(f"No intent with id '{intent_id}'.")
    with actor.audit_context():
        intent.delete()


def waiver_expiry(days: int = DEFAULT_WAIVER_DAYS) -> datetime:
    return timezone.now() + timedelta(days=days)
