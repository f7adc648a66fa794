"""manage.py import_intents: JSON Lines and the legacy FastAPI registry's SQLite file."""

from __future__ import annotations

import json
import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apikeys.crypto import hash_key
from apikeys.models import APIKey
from intents.models import Intent

pytestmark = pytest.mark.django_db

LEGACY_KEY = "legacy-plain-key-0123456789abcdef"  # the old registry's keys were opaque strings


def run(path: Path) -> str:
    out = StringIO()
    call_command("import_intents", str(path), stdout=out)
    return out.getvalue()


def build_legacy_db(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE intents (
            id TEXT PRIMARY KEY, code TEXT, type TEXT, file TEXT, line INTEGER,
            import_text TEXT, reason_category TEXT, reason TEXT, suggestion TEXT,
            owner TEXT, ticket TEXT, eta TEXT, status TEXT, created_at TEXT,
            modified_at TEXT, resolved_at TEXT, raw TEXT, agent TEXT
        );
        CREATE TABLE api_keys (
            key TEXT PRIMARY KEY, agent_id TEXT, owner TEXT, created_at TEXT,
            expires_at TEXT, revoked INTEGER, daily_limit REAL, daily_used REAL
        );
        """
    )
    db.executemany(
        "INSERT INTO intents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                "T4-legacy-1", "B008", "lint", "matriz/api.py", 12, None, "framework",
                "FastAPI DI pattern", None, "@api", "GH-1031", "2025-12-01", "planned",
                "2025-11-06 10:00:00", "2025-11-06 11:00:00", None,
                '{"ruff": {"noqa": false}}', "claude",
            ),
            (
                "T4-legacy-2", "F401", "import", "lukhas/core/foo.py", 3, "import os", "",
                "kept for future", None, "", "", None, "reserved",
                "2025-11-01T00:00:00", None, None, None, None,
            ),
            (
                "T4-legacy-3", "F821", "lint", "x.py", 9, None, "", "done", None, "@a",
                "GH-2", None, "implemented", "2025-10-01T00:00:00+00:00",
                "2025-10-03T00:00:00+00:00", "2025-10-03T00:00:00+00:00", None, None,
            ),
            ("bad id!", "F401", "lint", "x.py", 1, *[None] * 13),
            ("T4-bad-file", "F401", "lint", "../x.py", 1, *[None] * 13),
            ("T4-bad-status", "F401", "lint", "x.py", 1, *[None] * 7, "wontfix", *[None] * 5),
        ],
    )  # fmt: skip
    db.executemany(
        "INSERT INTO api_keys VALUES (?,?,?,?,?,?,?,?)",
        [
            (LEGACY_KEY, "claude", "@agents", "2025-11-06 09:00:00", None, 0, 100.0, 12.5),
            ("revoked-key-xyz-000000000000", "old", "", "2025-01-01", None, 1, 50, 0),
            ("", "nokey", "", None, None, 0, 10, 0),
        ],
    )
    db.commit()
    db.close()
    return path


def test_legacy_sqlite_import(tmp_path: Path) -> None:
    path = build_legacy_db(tmp_path / "intent_registry.db")
    output = run(path)
    assert "Imported 3 intent(s) and 2 API key(s); skipped 4." in output
    assert "bad id!" not in Intent.objects.values_list("pk", flat=True)
    assert "intents row 4" in output
    assert "'..'" in output
    assert "unknown status 'wontfix'" in output
    assert "empty key" in output
    assert LEGACY_KEY not in output

    planned = Intent.objects.get(pk="T4-legacy-1")
    assert (planned.status, planned.owner, planned.ticket) == ("planned", "@api", "GH-1031")
    assert planned.created_at.isoformat() == "2025-11-06T10:00:00+00:00"
    assert planned.eta.isoformat() == "2025-12-01"
    assert planned.raw == {"ruff": {"noqa": False}, "legacy": {"agent": "claude"}}
    assert Intent.objects.get(pk="T4-legacy-2").modified_at.isoformat().startswith("2025-11-01")
    assert Intent.objects.get(pk="T4-legacy-3").resolved_at is not None

    key = APIKey.objects.get(agent_id="claude")
    assert key.key_hash == hash_key(LEGACY_KEY)
    assert key.prefix == f"legacy{hash_key(LEGACY_KEY)[:8]}"
    assert str(key.daily_limit) == "100.00"
    assert key.revoked_at is None
    assert APIKey.objects.get(agent_id="old").revoked_at is not None
    assert not APIKey.objects.filter(key_hash=LEGACY_KEY).exists()

    # The agent keeps working with the key it already has.
    client = APIClient()
    client.credentials(HTTP_X_T4_API_KEY=LEGACY_KEY)
    response = client.get("/intents/T4-legacy-1")
    assert response.status_code == 200
    assert response.json()["ticket"] == "GH-1031"


def test_legacy_import_is_idempotent(tmp_path: Path) -> None:
    path = build_legacy_db(tmp_path / "intent_registry.db")
    run(path)
    before = (Intent.objects.count(), APIKey.objects.count())
    output = run(path)
    assert "Imported 0 intent(s) and 0 API key(s); skipped 9." in output
    assert "intent T4-legacy-1: already exists" in output
    assert "already imported" in output
    assert (Intent.objects.count(), APIKey.objects.count()) == before


def test_jsonl_import(tmp_path: Path) -> None:
    path = tmp_path / "intents.jsonl"
    lines = [
        json.dumps({"id": "T4-j1", "code": "F821", "file": "a.py", "line": 1, "reason": "x"}),
        "",
        "{broken",
        json.dumps(
            {
                "id": "T4-j2",
                "code": "B904",
                "file": "b.py",
                "line": 2,
                "status": "accepted",
                "owner": "@o",
                "reason": "re-raise keeps traceback",
            }
        ),
        json.dumps({"id": "T4-j3", "code": "nope", "file": "c.py", "line": 3}),
        json.dumps([1, 2]),
        json.dumps({"id": "T4-j4", "file": "c.py", "line": 3}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = run(path)
    assert "Imported 2 intent(s) and 0 API key(s); skipped 4." in output
    assert "line 3: invalid JSON" in output
    assert "line 5: code must be a ruff rule code" in output
    assert "line 6: not a JSON object" in output
    assert "line 7: missing code" in output
    waiver = Intent.objects.get(pk="T4-j2")
    assert waiver.status == "accepted"
    assert waiver.expires_at is not None
    assert "note intent T4-j2: accepted without expires_at" in output
    assert "skipped 6" in run(path)  # idempotent: both created rows now skip as existing


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        run(tmp_path / "nope.db")


def test_rows_no_column_or_datetime_holds_are_skipped_and_the_rest_imported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "intents.jsonl"
    rows = [
        {"id": "T4-e1", "code": "F821", "file": "a.py", "line": 1, "created_at": 1e20},
        {"id": "T4-e2", "code": "F821", "file": "a.py", "line": 2, "owner": "a\x00b"},
        {"id": "T4-e3", "code": "F821", "file": "a.py", "line": 3},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    output = run(path)
    assert "Imported" in output and "T4-e3" in set(Intent.objects.values_list("pk", flat=True))
    assert not Intent.objects.filter(pk="T4-e1").exists()
