"""The migrate codemod: conversions, safety skips, backups and the byte-exact revert."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from t4client import migrate
from tests.t4client.conftest import write

LEGACY = (
    "import os  # TODO[T4-UNUSED-IMPORT]: kept for plugin discovery\n"
    'import re  # TODO[T4-LINT-ISSUE]: {"code": "F401", "owner": "@core", "ticket": "GH-9",'
    ' "status": "planned", "reason": "re-exported"}\n'
    'print(1)  # TODO[T4-LINT-ISSUE]: {"code": "B008", "reason": "FastAPI DI"}\n'
)


def migrate_json(cli, *args: str):
    result = cli("migrate", "--json", *args)
    return result, result.json()


def strip_run(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("mode", "run_id")}


def test_dry_run_and_apply_report_the_same_conversions(repo: Path, cli) -> None:
    path = write(repo, "pkg/a.py", LEGACY)
    before = path.read_bytes()
    dry, dry_report = migrate_json(cli, "--paths", "pkg", "--dry-run")
    assert dry.code == 0
    assert path.read_bytes() == before  # a dry run changes nothing
    assert not (repo / ".t4").exists()
    applied, apply_report = migrate_json(cli, "--paths", "pkg", "--apply")
    assert applied.code == 0
    assert strip_run(dry_report) == strip_run(apply_report)
    convs = {c["line"]: c for c in apply_report["conversions"]}
    assert (convs[1]["code"], convs[1]["code_source"]) == ("F401", "ruff")
    assert (convs[2]["owner"], convs[2]["owner_confidence"], convs[2]["needs_owner_review"]) == (
        "@core",
        1.0,
        False,
    )
    assert (convs[3]["code"], convs[3]["code_source"]) == ("B008", "legacy")
    lines = path.read_text().splitlines()
    for n, line in enumerate(lines, start=1):
        _prefix, payload = line.split("  # TODO[T4-ISSUE]: ")
        data = json.loads(payload)
        assert data["id"] == convs[n]["id"]
        assert data["legacy"].startswith("# TODO[T4-")
    assert json.loads(lines[1].split(": ", 1)[1])["ticket"] == "GH-9"
    assert json.loads(lines[0].split(": ", 1)[1])["reason"] == "kept for plugin discovery"
    # The validator now reads them as unified annotations, no longer legacy.
    report = cli("check", "--json-only", "--paths", "pkg").json()
    assert report["summary"]["legacy_format"] == 0
    assert report["summary"]["annotated"] == 2


def test_ids_are_deterministic(repo: Path) -> None:
    write(repo, "a.py", LEGACY)
    first = [c.id for c in migrate.plan_migration(["."]).conversions]
    second = [c.id for c in migrate.plan_migration(["."]).conversions]
    assert first == second and len(set(first)) == 3


def test_apply_keeps_backups_and_revert_is_byte_exact(repo: Path, cli) -> None:
    crlf = write(repo, "crlf.py", LEGACY.replace("\n", "\r\n").encode())
    no_eol = write(repo, "no_eol.py", LEGACY.rstrip("\n"))
    bom = write(repo, "bom.py", "\ufeff# é\n" + LEGACY)
    crlf.chmod(0o640)
    originals = {p: p.read_bytes() for p in (crlf, no_eol, bom)}
    result, report = migrate_json(cli, "--apply")
    assert result.code == 0
    run_id = report["run_id"]
    run_dir = repo / ".t4" / "runs" / run_id
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "applied"
    assert {f["path"] for f in manifest["files"]} == {"crlf.py", "no_eol.py", "bom.py"}
    for f in manifest["files"]:
        original = originals[repo / f["path"]]
        assert (run_dir / f["backup"]).read_bytes() == original
        assert f["sha256_before"] == hashlib.sha256(original).hexdigest()
    # Line endings, BOM, final newline (or its absence) and file mode survive.
    new = crlf.read_bytes()
    assert new.count(b"\r\n") == 3 and new.count(b"\n") == 3
    assert not no_eol.read_bytes().endswith(b"\n")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf# \xc3\xa9\n")
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o640
    assert not list(repo.glob("**/*.t4tmp"))
    for path in originals:
        assert path.read_bytes() != originals[path]
    result, reverted = migrate_json(cli, "--revert", run_id)
    assert result.code == 0
    assert sorted(reverted["restored"]) == ["bom.py", "crlf.py", "no_eol.py"]
    for path, data in originals.items():
        assert path.read_bytes() == data
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o640
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "reverted"


def test_revert_refuses_files_changed_since_unless_forced(repo: Path, cli) -> None:
    path = write(repo, "a.py", LEGACY)
    original = path.read_bytes()
    _, report = migrate_json(cli, "--apply")
    path.write_bytes(path.read_bytes() + b"# edited later\n")
    result, reverted = migrate_json(cli, "--revert", report["run_id"])
    assert result.code == 1
    assert reverted["conflicts"][0]["file"] == "a.py"
    assert path.read_bytes() != original
    result, reverted = migrate_json(cli, "--revert", report["run_id"], "--force")
    assert result.code == 0
    assert path.read_bytes() == original


def test_revert_unknown_run_is_an_error(repo: Path, cli) -> None:
    result = cli("migrate", "--json", "--revert", "20990101T000000Z-abcdef")
    assert result.code == 2
    assert result.json()["error"]["code"] == "run_not_found"
    assert cli("migrate", "--revert", "../../etc").code == 2


def test_skips_multiline_strings_and_backslash_continuations(repo: Path, cli) -> None:
    source = (
        'DOC = """\n'
        "import os  # TODO[T4-UNUSED-IMPORT]: inside a docstring\n"
        '"""\n'
        "x = 1 + \\\n"
        "    2  # TODO[T4-UNUSED-IMPORT]: after a continuation\n"
        "s = '# TODO[T4-UNUSED-IMPORT]: in a literal'\n"
        "import os  # TODO[T4-UNUSED-IMPORT]: the real one\n"
    )
    path = write(repo, "a.py", source)
    result, report = migrate_json(cli, "--apply")
    assert result.code == 1  # done, but something was skipped
    assert [(s["line"], s["reason"].split(" ")[0]) for s in report["skipped"]] == [
        (2, "tag"),
        (5, "line"),
        (6, "tag"),
    ]
    assert [c["line"] for c in report["conversions"]] == [7]
    lines = path.read_text().split("\n")
    assert lines[:6] == source.split("\n")[:6]
    assert "TODO[T4-ISSUE]" in lines[6]


def test_file_that_would_not_compile_is_left_unchanged(repo: Path, cli) -> None:
    path = write(repo, "broken.py", "import os  # TODO[T4-UNUSED-IMPORT]: x\nx = = 1\n")
    before = path.read_bytes()
    result, report = migrate_json(cli, "--apply")
    assert result.code == 1
    assert path.read_bytes() == before
    assert report["unchanged_files"][0]["file"] == "broken.py"
    assert "would not compile" in report["unchanged_files"][0]["reason"]
    assert report["conversions"] == []


def test_compile_check_guards_every_rewrite(repo: Path, monkeypatch) -> None:
    path = write(repo, "a.py", "import os  # TODO[T4-UNUSED-IMPORT]: x\n")
    real = migrate._convert

    def corrupting(*args, **kwargs):
        conv, comment = real(*args, **kwargs)
        return conv, "\n  (" + comment  # would break the file

    monkeypatch.setattr(migrate, "_convert", corrupting)
    plan = migrate.plan_migration(["."])
    assert plan.files == []
    assert "would not compile" in plan.unchanged_files[0]["reason"]
    assert path.read_text() == "import os  # TODO[T4-UNUSED-IMPORT]: x\n"


def test_owner_from_git_blame(tmp_path: Path, monkeypatch, cli) -> None:
    root = tmp_path / "gitrepo"
    root.mkdir()
    monkeypatch.chdir(root)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    write(root, "a.py", "import os  # TODO[T4-UNUSED-IMPORT]: legacy\n")
    script = (
        "git init -q . && git config user.name 'Octo Cat' && "
        "git config user.email 12345+octocat@users.noreply.github.com && "
        "git add a.py && git commit -q -m init"
    )
    subprocess.run(["sh", "-c", script], cwd=root, env=env, check=True)
    write(root, "b.py", "import re  # TODO[T4-UNUSED-IMPORT]: not committed yet\n")
    _, report = migrate_json(cli, "--dry-run")
    convs = {c["file"]: c for c in report["conversions"]}
    assert (
        convs["a.py"]["owner"],
        convs["a.py"]["owner_confidence"],
        convs["a.py"]["owner_source"],
        convs["a.py"]["needs_owner_review"],
    ) == ("@octocat", 0.9, "git-blame", False)
    assert (convs["b.py"]["owner"], convs["b.py"]["needs_owner_review"]) == ("@unassigned", True)
    assert report["summary"]["needs_owner_review"] == 1


@pytest.mark.parametrize(
    ("name", "mail", "expected"),
    [
        ("Octo", "<octo@users.noreply.github.com>", ("@octo", 0.9)),
        ("Jane Doe", "<jane.doe@example.com>", ("@jane.doe", 0.6)),
        ("Jane Doe", "<>", ("@jane-doe", 0.4)),
        ("Not Committed Yet", "<not.committed.yet>", ("@unassigned", 0.0)),
    ],
)
def test_owner_handles(name: str, mail: str, expected: tuple[str, float]) -> None:
    assert migrate.owner_from_author(name, mail) == expected


def test_outside_git_owner_needs_review(repo: Path) -> None:
    write(repo, "a.py", "import os  # TODO[T4-UNUSED-IMPORT]: x\n")
    [conv] = migrate.plan_migration(["."]).conversions
    assert (conv.owner, conv.owner_source, conv.needs_owner_review) == ("@unassigned", "none", True)


def test_migrate_fails_closed_without_ruff(repo: Path, cli, monkeypatch) -> None:
    write(repo, "a.py", LEGACY)
    monkeypatch.setenv("T4_RUFF", "/nonexistent/ruff")
    result = cli("migrate", "--json", "--apply")
    assert result.code == 2
    assert result.json()["error"]["code"] == "ruff_missing"
    assert (repo / "a.py").read_text() == LEGACY


def test_report_file_and_human_output(repo: Path, cli) -> None:
    write(repo, "a.py", LEGACY)
    result = cli("migrate", "--dry-run", "--report", "m.json")
    assert result.code == 0
    assert result.out.startswith("would convert 3 annotation(s) in 1 file(s)")
    assert json.loads((repo / "m.json").read_text())["summary"]["conversions"] == 3
