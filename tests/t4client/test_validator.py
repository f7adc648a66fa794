"""The validator (`python -m t4client check`) against real ruff on small repositories."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from t4client import scanning
from tests.t4client.conftest import write


def ann(ident: str = "T4-1", code: str = "F401", **extra: Any) -> str:
    data = {
        "id": ident,
        "code": code,
        "owner": "@team",
        "ticket": "GH-1",
        "status": "planned",
        "reason": "registry side effect import",
    }
    data.update(extra)
    return "  # TODO[T4-ISSUE]: " + json.dumps(data)


def check(cli, *args: str):
    result = cli("check", "--json-only", *args)
    return result, (result.json() if result.out.strip() else None)


def assert_adds_up(report: dict[str, Any]) -> None:
    s = report["summary"]
    assert (
        s["total_findings"] == s["annotated"] + s["unannotated"] + s["legacy_format"] + s["waived"]
    )
    assert len(report["unannotated"]) == s["unannotated"]
    assert len(report["legacy_annotations"]) == s["legacy_format"]
    assert len(report["waived"]) == s["waived"]
    # One entry per annotation, listing the codes it covers: one per annotated finding.
    assert sum(len(e["codes"]) for e in report["annotations"]) == s["annotated"]
    assert sum(report["metrics"]["counts_by_code"].values()) == s["total_findings"]
    assert sum(report["metrics"]["counts_by_status"].values()) == s["total_findings"]


def test_buckets_add_up_and_json_only_is_pure_json(repo: Path, cli) -> None:
    write(
        repo,
        "pkg/a.py",
        "import os" + ann("T4-a") + "\n"
        "import sys  # TODO[T4-UNUSED-IMPORT]: kept for the plugin loader\n"
        'import json  # TODO[T4-LINT-ISSUE]: {"code": "F401", "owner": "@x"}\n'
        "import re\n"
        "x = undefined_name\n",
    )
    write(
        repo,
        "waivers.yaml",
        "- {file: pkg/a.py, line: 4, code: F401, reason: vendored, "
        "expires: 2999-01-01, reviewer: '@lead'}\n",
    )
    result, report = check(cli, "--paths", "pkg", "--waivers", "waivers.yaml")
    assert result.code == 0  # fail, but not --strict
    assert report["status"] == "fail"
    s = report["summary"]
    assert (
        s["total_findings"],
        s["annotated"],
        s["legacy_format"],
        s["waived"],
        s["unannotated"],
    ) == (5, 1, 2, 1, 1)
    assert_adds_up(report)
    assert {e["tag"] for e in report["legacy_annotations"]} == {"T4-UNUSED-IMPORT", "T4-LINT-ISSUE"}
    assert report["unannotated"][0]["code"] == "F821"
    assert report["waived"][0]["waiver"]["reviewer"] == "@lead"
    assert set(report) >= {
        "status",
        "timestamp",
        "summary",
        "metrics",
        "unannotated",
        "legacy_annotations",
        "quality_issues",
    }
    assert set(report["metrics"]) >= {
        "annotation_quality_score",
        "weighted_good",
        "weighted_total",
        "counts_by_code",
        "counts_by_status",
        "quality_breakdown",
    }


def test_human_mode_prints_a_summary_table_not_json(repo: Path, cli) -> None:
    write(repo, "a.py", "import os\n")
    result = cli("check")
    assert result.code == 0
    assert result.out.startswith("T4 validator: FAIL")
    assert "unannotated" in result.out and "a.py:1: F401" in result.out
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.out)


def test_strict_exits_1_on_fail_and_0_on_pass(repo: Path, cli) -> None:
    write(repo, "a.py", "import os\n")
    assert cli("check", "--strict").code == 1
    write(repo, "a.py", "import os" + ann() + "\n")
    result, report = check(cli, "--strict")
    assert result.code == 0
    assert report["status"] == "pass"
    assert report["metrics"]["annotation_quality_score"] == 100.0


def test_reason_null_is_a_quality_issue_not_a_crash(repo: Path, cli) -> None:
    write(repo, "a.py", "import os" + ann(reason=None) + "\n")
    _, report = check(cli)
    assert report["summary"]["annotated"] == 1
    assert report["quality_issues"][0]["problems"] == ["missing_or_generic_reason"]
    assert report["status"] == "fail"


def test_generic_reason_and_missing_fields_are_quality_issues(repo: Path, cli) -> None:
    write(repo, "a.py", 'import os  # TODO[T4-ISSUE]: {"code": "F401", "reason": "TODO "}\n')
    _, report = check(cli)
    assert set(report["quality_issues"][0]["problems"]) == {
        "missing_id",
        "invalid_status",
        "missing_owner",
        "missing_ticket",
        "missing_or_generic_reason",
    }
    assert report["metrics"]["quality_breakdown"]["missing_owner"] == 1


def test_non_object_json_is_a_quality_issue(repo: Path, cli) -> None:
    write(
        repo,
        "a.py",
        'import os  # TODO[T4-ISSUE]: ["F401"]\n'
        'import re  # TODO[T4-ISSUE]: "just a string"\n'
        "import sys  # TODO[T4-ISSUE]: no json here\n",
    )
    _, report = check(cli)
    issues = {i["line"]: i for i in report["quality_issues"]}
    assert issues[1]["problems"] == ["not_an_object"]
    assert "got list" in issues[1]["detail"]
    assert issues[2]["problems"] == ["not_an_object"]
    assert "got str" in issues[2]["detail"]
    assert issues[3]["problems"] == ["missing_json"]
    assert report["summary"]["unannotated"] == 0
    assert report["summary"]["annotated"] == 3
    assert_adds_up(report)


def test_malformed_json_names_the_parse_error(repo: Path, cli) -> None:
    write(repo, "a.py", 'import os  # TODO[T4-ISSUE]: {"id": "T4-1", "code": "F401",}\n')
    _, report = check(cli)
    assert report["summary"]["unannotated"] == 0
    assert report["summary"]["annotated"] == 1
    issue = report["quality_issues"][0]
    assert issue["problems"] == ["malformed_json"]
    assert "Expecting property name" in issue["detail"]


def test_json_nested_too_deep_is_malformed_not_a_crash(repo: Path, cli) -> None:
    deep = "[" * 5000 + "]" * 5000
    write(repo, "a.py", 'import os  # TODO[T4-ISSUE]: {"id": "T4-1", "deep": ' + deep + "}\n")
    result, report = check(cli)
    assert result.code == 0
    assert report["summary"]["annotated"] == 1
    [issue] = report["quality_issues"]
    assert issue["problems"] == ["malformed_json"]
    assert "recursion" in issue["detail"]


def test_several_codes_on_one_line(repo: Path, cli) -> None:
    line = "import os; x = undefined_y"  # F401, E702 and F821 on line 1
    write(repo, "combined.py", line + ann("T4-c", "F401,E702,F821") + "\n")
    write(
        repo,
        "per_code.py",
        line + ann("T4-p1", "F401") + ann("T4-p2", "E702") + ann("T4-p3", "F821") + "\n",
    )
    write(repo, "partial.py", line + ann("T4-q", "F401") + "\n")
    _, report = check(cli)
    by_file: dict[str, dict[str, int]] = {}
    for bucket in ("annotations", "unannotated"):
        for e in report[bucket]:
            by_file.setdefault(e["file"], {}).setdefault(bucket, 0)
            by_file[e["file"]][bucket] += len(e["codes"]) if bucket == "annotations" else 1
    assert by_file["combined.py"] == {"annotations": 3}
    assert by_file["per_code.py"] == {"annotations": 3}
    assert by_file["partial.py"] == {"annotations": 1, "unannotated": 2}
    combined = [e for e in report["annotations"] if e["file"] == "combined.py"]
    assert [(e["id"], e["code"], e["codes"]) for e in combined] == [
        ("T4-c", "F401", ["F401", "E702", "F821"])
    ]
    assert not report["quality_issues"]
    ids = {e["id"] for e in report["annotations"] if e["file"] == "per_code.py"}
    assert ids == {"T4-p1", "T4-p2", "T4-p3"}
    assert not report["duplicate_ids"]  # one id listed for several codes on one line is fine
    assert_adds_up(report)


def test_duplicate_ids_are_reported(repo: Path, cli) -> None:
    write(repo, "a.py", "import os" + ann("T4-dup") + "\nimport re" + ann("T4-dup") + "\n")
    _, report = check(cli)
    assert report["duplicate_ids"] == [{"id": "T4-dup", "locations": ["a.py:1", "a.py:2"]}]
    assert all("duplicate_id" in i["problems"] for i in report["quality_issues"])
    assert report["summary"]["quality_issues"] == 2


def test_quality_score_uses_spec_weights(repo: Path, cli) -> None:
    write(
        repo,
        "a.py",
        "import os" + ann("T4-1", "F401") + "\n"  # good, weight 3
        "y = undefined_a" + ann("T4-2", "F821", owner="") + "\n"  # bad, weight 3
        "import re; import sys" + ann("T4-3", "F401,E702") + "\n",
    )  # good: 3 + 3 + 1
    _, report = check(cli)
    m = report["metrics"]
    assert (m["weighted_good"], m["weighted_total"]) == (10, 13)
    assert m["annotation_quality_score"] == 76.92
    assert m["counts_by_code"] == {"E702": 1, "F401": 3, "F821": 1}
    assert m["counts_by_status"] == {"planned": 5}


def test_weights_table() -> None:
    from t4client.annotations import weight

    assert [weight(c) for c in ("F821", "F401", "B904", "B008", "RUF006", "E702", "B018")] == [
        3,
        3,
        2,
        2,
        2,
        1,
        1,
    ]


def test_ignore_noqa_counts_hidden_findings(repo: Path, cli) -> None:
    write(repo, "a.py", "import os  # noqa: F401\n")
    _, report = check(cli)
    assert report["summary"]["total_findings"] == 0
    _, report = check(cli, "--ignore-noqa")
    assert report["summary"]["unannotated"] == 1
    assert report["config"]["ignore_noqa"] is True


def test_stale_annotations(repo: Path, cli) -> None:
    write(
        repo,
        "a.py",
        "import os\n"
        "print(os)" + ann("T4-gone", "F401") + "\n"  # paid debt: stale
        "print(1)  # noqa: E501" + ann("T4-noqa", "F401") + "\n"  # a noqa line: not stale
        "print(2)" + ann("T4-other", "D100") + "\n"  # code not checked: not stale
        "print(3)  # TODO[T4-UNUSED-IMPORT]: legacy\n",
    )  # legacy F401: stale
    _, report = check(cli)
    stale = [(s["line"], s["code"], s["id"]) for s in report["stale_annotations"]]
    assert stale == [(2, "F401", "T4-gone"), (5, "F401", None)]
    assert report["summary"]["stale_annotations"] == 2
    assert report["status"] == "pass"  # stale annotations are listed, not a failure
    _, report = check(cli, "--ignore-noqa")
    assert (3, "F401", "T4-noqa") in [
        (s["line"], s["code"], s["id"]) for s in report["stale_annotations"]
    ]


def test_stale_is_judged_per_annotation_and_code(repo: Path, cli) -> None:
    write(
        repo,
        "a.py",
        "import os" + ann("T4-multi", "F401,F821") + "\n"  # F821 not reported: stale
        "import re" + ann("T4-one", "F401") + ann("T4-two", "F401") + "\n"  # both covered
        "print(1)" + ann("T4-three", "F401") + ann("T4-four", "F401") + "\n"  # both stale
        "import json" + ann("T4-twice", "F401,F401") + "\n"  # listed twice, reported
        "print(2)" + ann("T4-again", "F821,F821") + "\n",  # listed twice, not reported
    )
    _, report = check(cli)
    stale = [(s["line"], s["code"], s["id"]) for s in report["stale_annotations"]]
    assert stale == [
        (1, "F821", "T4-multi"),
        (3, "F401", "T4-three"),
        (3, "F401", "T4-four"),
        (5, "F821", "T4-again"),
        (5, "F821", "T4-again"),
    ]
    assert report["summary"]["stale_annotations"] == 5
    assert report["summary"]["annotated"] == 3
    assert_adds_up(report)


def test_reads_each_file_once(repo: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        write(repo, f"m{i}.py", "import os" + ann(f"T4-{i}") + "\nimport re\nprint(1)\n")
    opened: list[str] = []
    real_read = scanning.read_file

    def counting_read(path, buf):
        opened.append(str(path))
        return real_read(path, buf)

    monkeypatch.setattr(scanning, "read_file", counting_read)
    _, report = check(cli)
    assert report["summary"]["total_findings"] == 6
    assert sorted(Path(p).name for p in opened) == ["m0.py", "m1.py", "m2.py"]


def test_yaml_waivers_active_expired_and_whole_file(repo: Path, cli) -> None:
    write(repo, "a.py", "import os\nimport re\n")
    write(repo, "b.py", "import os\n")
    today = dt.datetime.now(dt.UTC).date()
    write(
        repo,
        "w.yaml",
        f"""
waivers:
  - file: a.py
    line: 1
    code: F401
    reason: generated code
    expires: {today + dt.timedelta(days=1)}
  - file: a.py
    line: 2
    code: F401
    reason: lapsed
    expires: {today - dt.timedelta(days=1)}
    reviewer: "@lead"
  - file: ./b.py
    line: 0
    code: F401,F821
    reason: whole file
    expires: {today}
""",
    )
    _, report = check(cli, "--waivers", "w.yaml")
    assert report["summary"]["waived"] == 2
    assert report["summary"]["expired_waivers"] == 1
    assert report["expired_waivers"][0]["reason"] == "lapsed"
    [left] = report["unannotated"]
    assert (left["file"], left["line"]) == ("a.py", 2)
    assert left["expired_waiver"]["reviewer"] == "@lead"
    assert_adds_up(report)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- {file: a.py, code: F401}\n", "'expires' is required"),
        ("- {file: a.py, expires: 2999-01-01}\n", "'code' is required"),
        ("[unclosed\n", "not valid YAML"),
        ("just a string\n", "expected a list"),
        ("- {file: a.py, code: F401, expires: someday}\n", "unreadable expiry"),
    ],
)
def test_bad_waiver_file_fails_closed(repo: Path, cli, content: str, message: str) -> None:
    write(repo, "a.py", "import os\n")
    write(repo, "w.yaml", content)
    result, report = check(cli, "--waivers", "w.yaml")
    assert result.code == 2
    assert report["status"] == "error"
    assert message in report["error"]["detail"]


def test_registry_waivers_are_paginated_and_expired_ones_listed(repo: Path, cli, fake_api):
    write(repo, "a.py", "import os\nimport re\nimport sys\n")
    future, past = "2999-01-01T00:00:00Z", "2000-01-01T00:00:00Z"
    fake_api.add(id="W1", code="F401", file="a.py", line=1, status="accepted", expires_at=future)
    fake_api.add(id="W2", code="F401", file="a.py", line=2, status="accepted", expires_at=past)
    fake_api.add(id="W3", code="F401", file="a.py", line=3, status="accepted", expires_at=future)
    fake_api.add(id="P1", code="F401", file="a.py", line=2, status="planned")
    result, report = check(cli)
    assert result.code == 0
    assert report["summary"]["waived"] == 2
    assert [w["id"] for w in report["expired_waivers"]] == ["W2"]
    gets = [r for r in fake_api.requests if r[1] == "/intents"]
    assert len(gets) == 2  # page size 2 → two pages, "next" followed
    assert gets[0][2]["status"] == ["accepted"]
    _, report = check(cli, "--no-registry")
    assert report["summary"]["waived"] == 0


def test_registry_down_is_an_error_not_a_pass(repo: Path, cli, monkeypatch) -> None:
    write(repo, "a.py", "import os\n")
    monkeypatch.setenv("T4_API_KEY", "k")
    result, report = check(cli)
    assert result.code == 2
    assert "unreachable" in report["error"]["detail"]


def test_syntax_errors_count_as_unannotated(repo: Path, cli) -> None:
    write(repo, "bad.py", "def f(:\n")
    _, report = check(cli)
    assert report["summary"]["unannotated"] >= 1
    assert report["unannotated"][0]["code"] == "invalid-syntax"


# --- fail closed ------------------------------------------------------------------------


def test_missing_ruff_exits_2(repo: Path, cli, monkeypatch) -> None:
    write(repo, "a.py", "import os\n")
    monkeypatch.setenv("T4_RUFF", str(repo / "no-such-ruff"))
    result, report = check(cli)
    assert result.code == 2
    assert report["status"] == "error"
    assert report["error"]["code"] == "ruff_missing"


def test_missing_ruff_on_path_and_beside_python(repo: Path, monkeypatch) -> None:
    from t4client import ruffrun

    monkeypatch.setenv("PATH", str(repo))
    monkeypatch.setattr(ruffrun.sys, "executable", str(repo / "python"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ruffrun.RuffError) as exc:
        ruffrun.ruff_command()
    assert exc.value.code == "ruff_missing"


def test_crashing_ruff_exits_2(repo: Path, cli, fake_ruff) -> None:
    write(repo, "a.py", "import os\n")
    fake_ruff("sys.stderr.write('panic: boom\\n'); sys.exit(101)")
    result, report = check(cli)
    assert result.code == 2
    assert report["error"]["code"] == "ruff_crashed"
    assert "panic: boom" in report["error"]["detail"]


@pytest.mark.parametrize("output", ["not json at all", '{"a": 1}', '[{"code": "F401"}]'])
def test_unparseable_ruff_output_exits_2(repo: Path, cli, fake_ruff, output: str) -> None:
    write(repo, "a.py", "import os\n")
    fake_ruff(f"print({output!r}) if '--show-files' not in sys.argv else None")
    result, report = check(cli)
    assert result.code == 2
    assert report["error"]["code"] == "ruff_output"


def test_human_mode_error_goes_to_stderr(repo: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("T4_RUFF", "/nonexistent/ruff")
    result = cli("check")
    assert result.code == 2
    assert result.out == ""
    assert "ruff not found" in result.err


def test_path_that_does_not_exist_exits_2(repo: Path, cli) -> None:
    result, report = check(cli, "--paths", "nope")
    assert result.code == 2
    assert report["error"]["code"] == "path_not_found"


def test_path_outside_repository_exits_2(repo: Path, cli, tmp_path: Path) -> None:
    write(tmp_path, "outside.py", "import os\n")
    result, report = check(cli, "--paths", str(tmp_path / "outside.py"))
    assert result.code == 2
    assert report["error"]["code"] == "path_outside_repository"
    result, report = check(cli, "--paths", "../outside.py")
    assert result.code == 2


def test_json_report_file(repo: Path, cli) -> None:
    write(repo, "a.py", "import os\n")
    result = cli("check", "--report", "out.json")
    assert result.code == 0
    assert json.loads((repo / "out.json").read_text())["summary"]["unannotated"] == 1


# --- upload -----------------------------------------------------------------------------


def test_upload_posts_the_report(repo: Path, cli, fake_api) -> None:
    write(repo, "a.py", "import os\n")
    result = cli(
        "check",
        "--json-only",
        "--upload",
        "--sync",
        "--repository",
        "org/repo",
        "--commit",
        "abc123",
    )
    assert result.code == 0, result.err
    [sent] = fake_api.reports
    printed = result.json()
    assert sent["summary"] == printed["summary"]
    assert (sent["repository"], sent["commit"], sent["sync"]) == ("org/repo", "abc123", True)
    assert "uploaded" in result.err


@pytest.mark.parametrize(
    ("status", "text"),
    [(400, "rejected (HTTP 400)"), (403, "rejected (HTTP 403)"), (503, "server error")],
)
def test_upload_failures_are_clear(repo: Path, cli, fake_api, status: int, text: str) -> None:
    write(repo, "a.py", "import os\n")
    fake_api.report_status = status
    result = cli("check", "--json-only", "--upload", "--no-registry")
    assert result.code == 2
    assert text in result.err
    assert result.json()["summary"]["unannotated"] == 1  # stdout stays pure JSON


def test_upload_unreachable_and_missing_key(repo: Path, cli, monkeypatch) -> None:
    write(repo, "a.py", "import os\n")
    result = cli("check", "--upload")
    assert result.code == 2
    assert "T4_API_KEY" in result.err
    monkeypatch.setenv("T4_API_KEY", "k")
    result = cli("check", "--upload", "--no-registry")
    assert result.code == 2
    assert "unreachable" in result.err


def test_help_for_every_command(cli) -> None:
    for argv in (["--help"], ["check", "--help"], ["pre-pr", "--help"], ["migrate", "--help"]):
        with pytest.raises(SystemExit) as exc:
            cli(*argv)
        assert exc.value.code == 0


def test_entry_point_runs_as_module(repo: Path) -> None:
    import subprocess
    import sys

    write(repo, "a.py", "import os\n")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "t4client", "check", "--json-only"],
        capture_output=True,
        text=True,
        cwd=repo,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["total_findings"] == 1


def test_file_mode_irrelevant_for_check(repo: Path, cli) -> None:
    path = write(repo, "a.py", "import os\n")
    path.chmod(stat.S_IRUSR)
    _, report = check(cli)
    assert report["summary"]["unannotated"] == 1
