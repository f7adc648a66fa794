"""The seed's staging steps 1-4, as written, against a real gunicorn process.

Also the "no secret in plain text" guarantee end to end: after keys are created and used
(including ``?admin_token=``), neither the full keys nor the admin token occur in any table
of the server's database or in anything the server and commands printed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.live import gunicorn, manage, server_env

ADMIN = "dev-admin-token"
# The seed's bodies, verbatim.
SEED_ADMIN_BODY = (
    '{"agent_id":"test-admin","owner":"platform","expires_in_days":365,"daily_limit":200.0}'
)
SEED_INTENT_BODY = (
    '{"id":"T4-test-1","code":"F821","file":"lukhas/core/foo.py","line":42,"reason":"test"}'
)


def http(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def curl(*args: str) -> tuple[int, dict]:
    result = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def all_database_text(path: Path) -> str:
    chunks = []
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (names from sqlite)
                chunks.append(" ".join(str(value) for value in row))
    return "\n".join(chunks)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("seed")
    env = server_env(var_dir)
    manage(env, "migrate", "--noinput")
    log_path = var_dir / "server.log"
    with gunicorn(env, log_path=log_path) as base_url:
        yield base_url, env, var_dir, log_path


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_seed_staging_steps_1_to_4(live):
    base_url, env, var_dir, log_path = live
    # 1. health
    status, body = curl(f"{base_url}/health")
    assert status == 200 and body["status"] == "ok"
    # 2. admin key by curl with ?admin_token=
    status, created = curl(
        "-X", "POST", f"{base_url}/admin/api_keys?admin_token={ADMIN}",
        "-H", "Content-Type: application/json",
        "-d", SEED_ADMIN_BODY,
    )  # fmt: skip
    assert status == 201, created
    admin_key = created["key"]
    # 3. agent key from the command, captured from stdout
    test_key = manage(env, "create_api_key", "--agent_id", "test-agent", "--daily_limit",
                      "100").strip()  # fmt: skip
    assert test_key.startswith("t4_")
    # 4. intent registration with the key
    status, intent = curl(
        "-X", "POST", f"{base_url}/intents",
        "-H", f"X-T4-API-KEY: {test_key}",
        "-H", "Content-Type: application/json",
        "-d", SEED_INTENT_BODY,
    )  # fmt: skip
    assert status == 201, intent
    assert intent["id"] == "T4-test-1"
    # success criteria: 401 without a key, 200 with it, 403 for a wrong key
    assert http("GET", f"{base_url}/whoami")[0] == 401
    assert http("GET", f"{base_url}/whoami", headers={"X-T4-API-KEY": test_key})[0] == 200
    assert http("GET", f"{base_url}/whoami", headers={"X-T4-API-KEY": admin_key + "x"})[0] == 403
    # revoke by full key through the API, then the key is refused
    status, _ = http("DELETE", f"{base_url}/admin/api_keys/{admin_key}?admin_token={ADMIN}")
    assert status == 200
    assert http("GET", f"{base_url}/whoami", headers={"X-T4-API-KEY": admin_key})[0] == 403

    # No secret in plain text: database and server output.
    text = all_database_text(var_dir / "t4.sqlite3")
    assert "T4-test-1" in text  # the scan does see the data
    for secret in (admin_key, test_key, ADMIN):
        assert secret not in text
    server_output = log_path.read_text()
    for secret in (admin_key, test_key, ADMIN):
        assert secret not in server_output
    statuses = sqlite3.connect(var_dir / "t4.sqlite3").execute(
        "SELECT status FROM audit_requestlog"
    )
    assert {401, 403, 200, 201} <= {row[0] for row in statuses}
