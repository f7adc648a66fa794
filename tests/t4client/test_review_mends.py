"""t4client behaviours found missing in review: migrate's own state, revert's manifest,
symlinks, syntax errors in pre-pr, and what the HTTP client does with odd servers and keys."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from t4client import _http
from t4client.errors import RuffError
from t4client.policy import intents_by_file, pre_pr_check
from tests.t4client.conftest import write
from tests.t4client.test_migrate import LEGACY, migrate_json


def test_a_second_apply_leaves_the_first_runs_backups_alone(repo: Path, cli) -> None:
    path = write(repo, "a.py", LEGACY)
    original = path.read_bytes()
    _, first = migrate_json(cli, "--apply")
    backups = sorted((repo / ".t4").rglob("*.py"))
    saved = {p: p.read_bytes() for p in backups}
    _, second = migrate_json(cli, "--apply")
    assert second["conversions"] == [] and second["summary"]["files_scanned"] == 1
    assert {p: p.read_bytes() for p in backups} == saved
    result, _ = migrate_json(cli, "--revert", first["run_id"])
    assert result.code == 0 and path.read_bytes() == original
    report = cli("check", "--json-only", "--no-registry").json()
    assert report["summary"]["files_checked"] == 1  # .t4/ is not linted either


def test_revert_never_writes_outside_the_repository(repo: Path, cli, tmp_path: Path) -> None:
    write(repo, "a.py", LEGACY)
    _, report = migrate_json(cli, "--apply")
    manifest_path = repo / ".t4" / "runs" / report["run_id"] / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    victim = tmp_path / "victim.txt"
    manifest["files"][0]["path"] = "../victim.txt"
    manifest_path.write_text(json.dumps(manifest))
    result, answer = migrate_json(cli, "--revert", report["run_id"], "--force")
    assert result.code == 2 and answer["error"]["code"] == "bad_manifest"
    assert not victim.exists()
    manifest_path.write_text(json.dumps({"files": "nope"}))
    result, answer = migrate_json(cli, "--revert", report["run_id"])
    assert (result.code, answer["error"]["code"]) == (2, "bad_manifest")


@pytest.mark.parametrize("run_id", ["", ".", ".."])
def test_revert_of_an_empty_or_dotted_run_id_is_refused(repo: Path, cli, run_id: str) -> None:
    result, answer = migrate_json(cli, "--revert", run_id)
    assert (result.code, answer["error"]["code"]) == (2, "bad_run_id")


def test_revert_reports_a_deleted_file_instead_of_recreating_it(repo: Path, cli) -> None:
    path = write(repo, "a.py", LEGACY)
    _, report = migrate_json(cli, "--apply")
    path.unlink()
    result, answer = migrate_json(cli, "--revert", report["run_id"])
    assert result.code == 1 and answer["conflicts"][0]["reason"].startswith("deleted")
    assert not path.exists()
    result, _ = migrate_json(cli, "--revert", report["run_id"], "--force")
    assert result.code == 0 and path.exists()


def test_a_symlink_is_reported_not_replaced(repo: Path, cli) -> None:
    real = write(repo, "real.py", LEGACY)
    link = repo / "link.py"
    link.symlink_to(real)
    _, report = migrate_json(cli, "--apply")
    assert link.is_symlink()
    assert {"file": "link.py", "reason": "a symbolic link (not followed)"} in report[
        "unchanged_files"
    ]
    assert {c["file"] for c in report["conversions"]} == {"real.py"}


def test_a_bad_report_path_is_refused_before_any_file_changes(repo: Path, cli) -> None:
    path = write(repo, "a.py", LEGACY)
    before = path.read_bytes()
    result = cli("migrate", "--json", "--apply", "--report", str(repo / "no" / "such" / "r.json"))
    assert result.code == 2 and result.json()["error"]["code"] == "bad_report_path"
    assert path.read_bytes() == before


def test_pre_pr_fails_closed_on_a_file_that_does_not_parse(repo: Path, fake_api) -> None:
    write(repo, "bad.py", "def f(:\nimport os\n")
    with pytest.raises(RuffError, match="does not parse"):
        pre_pr_check(["bad.py"], ["F401"])


def test_pre_pr_command_exits_2_on_a_syntax_error(repo: Path, fake_api, cli) -> None:
    write(repo, "bad.py", "def f(:\nimport os\n")
    assert cli("pre-pr", "bad.py", "--codes", "F401").code == 2


def test_a_key_with_a_stray_newline_is_refused_without_echoing_it(fake_api, monkeypatch) -> None:
    monkeypatch.setenv("T4_API_KEY", "sekret-KEY-999\n")
    with pytest.raises(_http.T4ConfigError) as excinfo:
        intents_by_file("a.py")
    assert "sekret" not in str(excinfo.value)


class _NotHTTP(BaseHTTPRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"HELLO NOT HTTP\r\n\r\n")


class _Redirect(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target + self.path)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet: the test output stays the test's."""


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_a_server_that_does_not_speak_http_is_unavailable(monkeypatch) -> None:
    server, url = _serve(_NotHTTP)
    try:
        monkeypatch.setenv("T4_INTENT_API", url)
        with pytest.raises(_http.T4APIUnavailable, match="broken response"):
            _http.request_json("GET", "/intents", key="k")
        monkeypatch.setenv("T4_INTENT_API", "http://127.0.0.1:abc")
        with pytest.raises(_http.T4ConfigError):
            _http.request_json("GET", "/intents", key="k")
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_to_another_origin_is_not_followed(monkeypatch) -> None:
    seen: list[str | None] = []

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("X-T4-API-KEY"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the test output stays the test's."""

    other, other_url = _serve(Other)
    _Redirect.target = other_url.replace("127.0.0.1", "localhost")
    first, first_url = _serve(_Redirect)
    try:
        monkeypatch.setenv("T4_INTENT_API", first_url)
        with pytest.raises(_http.T4APIError):
            _http.request_json("GET", "/intents", key="secret-key")
        assert seen == []
    finally:
        for server in (first, other):
            server.shutdown()
            server.server_close()


def test_a_noqa_in_a_legacy_comment_keeps_working_after_migration(repo: Path, cli) -> None:
    import subprocess

    from t4client import _launch

    path = write(
        repo, "a.py", "import os  # TODO[T4-UNUSED-IMPORT]: kept for plugins # noqa: F401\n"
    )
    result, report = migrate_json(cli, "--apply")
    assert result.code == 0, report
    line = path.read_text()
    assert line.startswith("import os  # noqa: F401  # TODO[T4-ISSUE]: ")
    data = json.loads(line.split("# TODO[T4-ISSUE]: ", 1)[1])
    assert data["reason"] == "kept for plugins" and "# noqa: F401" in data["legacy"]
    ruff = _launch.default_ruff()
    assert ruff is not None
    done = subprocess.run(
        [*ruff, "check", "--select", "F401", "--output-format", "concise", "a.py"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Invalid" not in done.stderr


def test_lines_converted_earlier_are_not_reported_again(repo: Path, cli) -> None:
    write(repo, "a.py", LEGACY)
    migrate_json(cli, "--apply")
    result, report = migrate_json(cli, "--dry-run")
    assert result.code == 0 and report["skipped"] == [] and report["conversions"] == []


def test_a_comment_that_would_declare_an_encoding_leaves_the_file_unchanged(
    repo: Path, cli
) -> None:
    source = '# TODO[T4-LINT-ISSUE]: {"code": "X1", "reason": "coding\\u003dlatin-1"}\nprint("é")\n'
    path = write(repo, "a.py", source)
    _, report = migrate_json(cli, "--apply")
    assert path.read_text() == source
    assert "encoding declaration" in report["unchanged_files"][0]["reason"]


def test_a_lone_surrogate_in_legacy_json_is_kept_escaped(repo: Path, cli) -> None:
    path = write(
        repo, "a.py", 'import os  # TODO[T4-LINT-ISSUE]: {"code": "F401", "reason": "\\ud800"}\n'
    )
    result, report = migrate_json(cli, "--apply")
    assert result.code == 0, report
    path.read_bytes().decode("utf-8")  # still valid UTF-8
    assert "\\ud800" in path.read_text()


def test_apply_rewrites_all_files_or_none(repo: Path, monkeypatch) -> None:
    from t4client import migrate, migrate_runs

    a = write(repo, "a.py", LEGACY)
    b = write(repo, "b.py", LEGACY)
    originals = {a: a.read_bytes(), b: b.read_bytes()}
    plan = migrate.plan_migration(["."])
    real_write = migrate_runs.atomic_write

    def failing_write(path: Path, data: bytes) -> None:
        if Path(path).name == "b.py" and data != originals[b]:
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(migrate_runs, "atomic_write", failing_write)
    with pytest.raises(OSError):
        migrate_runs.apply_plan(plan)
    assert {a: a.read_bytes(), b: b.read_bytes()} == originals  # a.py was put back
    [manifest] = (repo / ".t4" / "runs").glob("*/manifest.json")
    assert json.loads(manifest.read_text())["status"] == "rolled_back"


def test_apply_refuses_before_writing_when_a_file_changed_since_the_plan(repo: Path) -> None:
    from t4client import migrate, migrate_runs
    from t4client.migrate_runs import MigrationError

    a = write(repo, "a.py", LEGACY)
    b = write(repo, "b.py", LEGACY)
    plan = migrate.plan_migration(["."])
    b.write_bytes(b.read_bytes() + b"# edited\n")
    before = a.read_bytes()
    with pytest.raises(MigrationError, match="nothing was rewritten"):
        migrate_runs.apply_plan(plan)
    assert a.read_bytes() == before
