"""Import from JSON Lines and from the seed's FastAPI registry (SQLite: ``intents``, ``api_keys``).

Idempotent: a row whose intent id (or key hash) is already present is skipped and reported.
Imported rows keep their ids, statuses and timestamps; the lifecycle's field rules are not
re-applied to history (the quality score shows the gaps), except that an ``accepted`` waiver
without an expiry gets the default one so the expiry job can see it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apikeys.services import apikey_import_legacy
from audit.actor import Actor
from t4site.errors import DomainError

from .models import Intent, IntentStatus
from .services import DEFAULT_WAIVER_DAYS, EDITABLE_FIELDS, check_values

SQLITE_MAGIC = b"SQLite format 3\x00"
# Every SPEC field an import may carry: what clients may set, plus what only imports keep.
INTENT_FIELDS = (
    "id",
    *EDITABLE_FIELDS,
    "status",
    "created_at",
    "modified_at",
    "resolved_at",
)
# Column names the legacy registry (or hand-written JSON) may use for SPEC fields.
ALIASES = {
    "intent_id": "id",
    "file_path": "file",
    "path": "file",
    "line_number": "line",
    "lineno": "line",
    "rule": "code",
    "category": "reason_category",
    "updated_at": "modified_at",
}


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: {"intents": 0, "api_keys": 0})
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append((what, reason))


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == SQLITE_MAGIC


def _when(value: Any) -> datetime | None:
    """ISO text or epoch seconds; naive values are UTC (the legacy registry stored UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    parsed = parse_datetime(str(value).strip().replace(" ", "T", 1))
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    parsed = parse_date(str(value).strip()[:10])
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed


def _intent_values(row: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    data = {ALIASES.get(key, key): value for key, value in row.items()}
    extra = {key: value for key, value in data.items() if key not in INTENT_FIELDS}
    values: dict[str, Any] = {key: data[key] for key in INTENT_FIELDS if key in data}
    for name in ("id", "code", "file", "line"):
        if values.get(name) in (None, ""):
            raise ValueError(f"missing {name}")
    values["id"] = str(values["id"]).strip()
    values["code"] = str(values["code"]).strip()
    values["file"] = str(values["file"]).strip()
    try:
        values["line"] = int(values["line"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"line is not an integer: {values['line']!r}") from exc
    for name in ("import_text", "reason_category", "reason", "suggestion", "owner", "ticket"):
        values[name] = "" if values.get(name) is None else str(values[name]).strip()
    values["type"] = values.get("type") or "lint"
    status = values.get("status") or IntentStatus.RESERVED
    if status not in IntentStatus.values:
        raise ValueError(f"unknown status {status!r}")
    values["status"] = status
    for name in ("expires_at", "created_at", "modified_at", "resolved_at"):
        values[name] = _when(values.get(name))
    values["eta"] = _day(values.get("eta"))
    raw = values.get("raw")
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {"text": raw}
    raw = raw if isinstance(raw, dict) else ({} if raw in (None, "") else {"value": raw})
    if extra:
        raw = {**raw, "legacy": {k: v for k, v in extra.items() if v is not None}}
    values["raw"] = raw
    values["created_at"] = values["created_at"] or now
    values["modified_at"] = values["modified_at"] or values["created_at"]
    if status == IntentStatus.IMPLEMENTED and values["resolved_at"] is None:
        values["resolved_at"] = values["modified_at"]
    if status != IntentStatus.IMPLEMENTED:
        values["resolved_at"] = None
    if status == IntentStatus.ACCEPTED and values["expires_at"] is None:
        values["expires_at"] = now + timedelta(days=DEFAULT_WAIVER_DAYS)
        notes.append(f"accepted without expires_at: set to {DEFAULT_WAIVER_DAYS} days from now")
    check_values({k: values[k] for k in ("id", "code", "file", "line", "type")})
    return values, notes


def import_intents(rows: Iterable[tuple[str, Any]], *, actor: Actor, report: ImportReport) -> None:
    """``rows`` yields (label, row-or-error); each row is created in its own savepoint."""
    now = timezone.now()
    for label, row in rows:
        if isinstance(row, Exception):
            report.skip(label, str(row))
            continue
        if not isinstance(row, dict):
            report.skip(label, "not a JSON object")
            continue
        try:
            values, notes = _intent_values(row, now)
        except (ValueError, OverflowError, OSError, DomainError) as exc:
            # OverflowError/OSError: an epoch no datetime holds.
            report.skip(label, getattr(exc, "detail", None) or str(exc))
            continue
        name = f"intent {values['id']}"
        if Intent.objects.filter(pk=values["id"]).exists():
            report.skip(name, "already exists")
            continue
        try:
            with transaction.atomic(), actor.audit_context():
                Intent.objects.create(**values)
        except (DatabaseError, OverflowError, ValueError) as exc:
            # A value no column holds (too long, out of range, a NUL): skip this row only;
            # the savepoint of the atomic block keeps the rows before it.
            report.skip(name, f"database refused it: {type(exc).__name__}: {exc}"[:300])
            continue
        report.created["intents"] += 1
        report.notes.extend((name, note) for note in notes)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "t"}


def import_api_keys(
    rows: Iterable[tuple[str, dict[str, Any]]], *, actor: Actor, report: ImportReport
) -> None:
    """Plain-text legacy keys are stored as their HMAC only, so agents keep their key.

    A well-formed ``t4_<prefix>_…`` key keeps its prefix (lookup is by prefix); any other key
    gets the prefix ``legacy`` + 8 hex characters of its hash and is found by hash.
    ``daily_used`` is not imported: spend belongs to the LLM gate's ledger and a new day.
    """
    for label, row in rows:
        secret = str(row.get("key") or "").strip()
        agent_id = str(row.get("agent_id") or "").strip()
        name = f"{label} (agent {agent_id or '?'})"  # never the key itself
        if not secret:
            report.skip(name, "empty key")
            continue
        if not agent_id:
            report.skip(name, "missing agent_id")
            continue
        try:
            daily_limit = Decimal(str(row.get("daily_limit") or "100.00")).quantize(Decimal("0.01"))
            created_at = _when(row.get("created_at"))
            expires_at = _when(row.get("expires_at"))
        except (InvalidOperation, ValueError) as exc:
            report.skip(name, str(exc))
            continue
        try:
            apikey_import_legacy(
                secret=secret,
                agent_id=agent_id,
                actor=actor,
                owner=str(row.get("owner") or ""),
                created_at=created_at,
                expires_at=expires_at,
                revoked=_truthy(row.get("revoked")),
                daily_limit=daily_limit,
            )
        except DomainError as exc:
            report.skip(name, exc.detail)
            continue
        report.created["api_keys"] += 1


def jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield f"line {number}", json.loads(text)
            except ValueError as exc:
                yield f"line {number}", ValueError(f"invalid JSON: {exc.msg}")


def sqlite_tables(path: Path) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """The rows of ``intents`` and ``api_keys`` (None for a missing table), read-only."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        names = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        tables: list[list[dict[str, Any]] | None] = []
        for table in ("intents", "api_keys"):
            if table not in names:
                tables.append(None)
                continue
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (fixed names)
            tables.append([dict(row) for row in cursor])
        return tables[0], tables[1]
    finally:
        connection.close()
