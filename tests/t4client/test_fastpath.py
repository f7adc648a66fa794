"""The speed-ups of `check` change timing only: head start, streamed parsing, background reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from t4client import _launch, ruffrun, validator
from tests.t4client.conftest import write
from tests.t4client.test_validator import ann, check


def _strip_time(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "timestamp"}


@pytest.fixture
def tree(repo: Path) -> Path:
    write(repo, "a.py", "import os" + ann("T4-a") + "\nimport re\n")
    write(repo, "pkg/b.py", "x = undefined_b" + ann("T4-b", "F821") + "\nimport json; import csv\n")
    write(repo, "pkg/c.py", "print(1)" + ann("T4-c", "F401") + "\n")  # stale
    return repo


@pytest.fixture(autouse=True)
def _no_leftovers():
    yield
    _launch.discard()


def test_prestarted_ruff_is_claimed_and_the_report_is_unchanged(tree: Path, cli, monkeypatch):
    _, plain = check(cli, "--no-registry")
    claimed = []
    real_claim = _launch.claim

    def spy(cmd, cwd):
        proc = real_claim(cmd, cwd)
        claimed.append(proc)
        return proc

    monkeypatch.setattr(_launch, "claim", spy)
    _launch.prestart(["--json-only", "--no-registry", "--paths", "."])
    assert len(_launch._started) == 2
    _, fast = check(cli, "--no-registry", "--paths", ".")
    assert len(claimed) == 2 and all(isinstance(p, _launch.Spawned) for p in claimed)
    assert _launch._started == []
    assert _strip_time(fast) == _strip_time(plain)
    assert fast["summary"]["stale_annotations"] == 1


def test_a_head_start_that_does_not_match_is_killed(tree: Path, cli):
    _launch.prestart(["--codes", "E702"])
    started = list(_launch._started)
    assert len(started) == 2
    _, report = check(cli, "--codes", "F401")  # other codes: nothing claimed
    assert set(report["metrics"]["counts_by_code"]) == {"F401"}
    assert _launch._started == []
    assert all(p.returncode is not None for p in started)  # killed and reaped


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--paths=."], ["--pa", "."], ["--paths"], ["stray"], ["--root"], ["--", "."]],
)
def test_unclear_command_lines_get_no_head_start(argv: list[str]) -> None:
    assert _launch._parse_check_argv(argv) is None


def test_head_start_skipped_for_bad_paths_and_t4_ruff(tree: Path, monkeypatch) -> None:
    _launch.prestart(["--paths", "does-not-exist"])
    assert _launch._started == []
    monkeypatch.setenv("T4_RUFF", "ruff")
    _launch.prestart(["--paths", "."])
    assert _launch._started == []


def test_streamed_parsing_matches_parsing_at_once(tree: Path) -> None:
    run = ruffrun.RuffRun([str(tree)], codes=["F401", "F821", "E702"], cwd=tree)
    out = run._communicate()
    whole = ruffrun.parse_findings(out)
    assert len(whole) == 6
    for size in (1, 7, 100, len(out)):
        parser = ruffrun._StreamParser()
        for i in range(0, len(out), size):
            parser.feed(out[i : i + size])
        assert parser.close() == whole


@pytest.mark.parametrize(
    "output",
    [
        b'{"a": 1},{"b": 2}\n',  # two values on one line
        b'{"filename": "x", "location": {"row": 1}}\n[\n',
        b'{"filename": "x", "location": {"row": "one"}}\n',
    ],
)
def test_bad_json_lines_fail_closed(output: bytes) -> None:
    with pytest.raises(ruffrun.RuffError) as exc:
        ruffrun.parse_findings(output)
    assert exc.value.code == "ruff_output"


def test_unicode_line_separators_inside_messages_are_not_line_breaks() -> None:
    item = {
        "filename": "/r/a.py",
        "location": {"row": 1, "column": 2},
        "code": "F821",
        "message": "name\u2028with\x85separators",
        "noqa_row": 1,
    }
    out = (json.dumps(item, ensure_ascii=False) + "\n").encode()
    [finding] = ruffrun.parse_findings(out)
    assert finding.message == item["message"]


def test_background_reading_covers_every_file_once(tree: Path, monkeypatch) -> None:
    files = [str(p) for p in sorted(tree.rglob("*.py"))] * 50
    opened: list[str] = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(validator, "open", counting_open, raising=False)
    scanner = validator._Scanner(files, lambda f: f)
    scanner.help()
    scans, _, facts = scanner.finish()
    assert sorted(opened) == sorted(files)
    assert set(scans) == set(files)
    assert len(facts) == 3
