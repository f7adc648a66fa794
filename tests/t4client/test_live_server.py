"""The toolkit against the real T4 server (gunicorn), not a fake: pre-PR coverage, the
validator's registry waivers and report upload with intent sync."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.live import ROOT, gunicorn, manage, server_env


def api(base: str, key: str, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        headers={"X-T4-API-KEY": key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def t4client(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "t4client", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("t4client-live")
    env = server_env(var_dir)
    manage(env, "migrate", "--noinput")
    key = manage(env, "create_api_key", "--agent_id", "ci-agent").strip()
    with gunicorn(env) as base_url:
        yield base_url, key


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".git").mkdir()  # the validator's repository root marker
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("import os\n")
    return tmp_path


def test_pre_pr_missing_then_covered(server, repo):
    base_url, key = server
    env = {"T4_INTENT_API": base_url, "T4_API_KEY": key, "PATH": "/usr/bin:/bin"}
    first = t4client(env, repo, "pre-pr", "pkg/mod.py", "--codes", "F401", "--json")
    assert first.returncode == 1, first.stderr
    second = t4client(env, repo, "pre-pr", "pkg/mod.py", "--codes", "F401", "--json")
    assert second.returncode == 1, second.stderr
    placeholders = api(base_url, key, "GET", "/intents/by_file?file=pkg/mod.py")
    rows = placeholders["results"] if isinstance(placeholders, dict) else placeholders
    assert len(rows) == 1 and rows[0]["status"] == "reserved"  # re-runs never duplicate
    api(base_url, key, "PATCH", f"/intents/{rows[0]['id']}",
        {"status": "planned", "owner": "@ci", "ticket": "GH-9"})  # fmt: skip
    covered = t4client(env, repo, "pre-pr", "pkg/mod.py", "--codes", "F401", "--json")
    assert covered.returncode == 0, covered.stdout + covered.stderr


def test_check_uploads_and_syncs(server, repo):
    base_url, key = server
    annotation = {"id": "T4-live-1", "code": "F401", "owner": "@ci", "ticket": "GH-3",
                  "status": "planned", "reason": "re-exported for plugins"}  # fmt: skip
    (repo / "pkg" / "api.py").write_text(
        f"import sys  # TODO[T4-ISSUE]: {json.dumps(annotation)}\n"
    )
    env = {"T4_INTENT_API": base_url, "T4_API_KEY": key, "PATH": "/usr/bin:/bin"}
    result = t4client(env, repo, "check", "--paths", "pkg", "--codes", "F401", "--json-only",
                      "--upload", "--sync", "--repository", "org/live")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["annotated"] == 1
    intent = api(base_url, key, "GET", "/intents/T4-live-1")
    assert (intent["status"], intent["file"], intent["owner"]) == ("planned", "pkg/api.py", "@ci")
