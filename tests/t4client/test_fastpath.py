"""The speed-ups of `check` change timing only: head start, streamed parsing, background reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from t4client import _launch, ruffrun, scanning
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


def test_reading_covers_every_file_once(tree: Path, monkeypatch) -> None:
    unique = [str(p) for p in sorted(tree.rglob("*.py"))]
    files = unique * 50  # a file listed more than once is still read once
    opened: list[str] = []
    real_read = scanning.read_file

    def counting_read(path, buf):
        opened.append(os.fspath(path))
        return real_read(path, buf)

    monkeypatch.setattr(scanning, "read_file", counting_read)
    scans, duplicate_ids, facts, slots = scanning.scan_files(files, lambda f: f)
    assert sorted(opened) == unique
    assert list(scans) == unique
    assert duplicate_ids == {}
    assert len(facts) == 3
    annotated = [
        ann for scan in scans.values() for anns in scan.annotations.values() for ann in anns
    ]
    assert sorted(facts) == sorted(id(ann) for ann in annotated)
    # every code of every annotation has its slot, numbered in reading order
    assert len(slots) == sum(len(ann.codes) for ann in annotated)
    assert [ann.code_slot for ann in annotated] == sorted(ann.code_slot for ann in annotated)
    assert all(slots.anns[ann.code_slot] is ann for ann in annotated if ann.codes)


# --- the regular-expression reader of ruff's JSON Lines -------------------------------------

_LINE = (
    '{"cell":null,"code":"F401","end_location":{"column":10,"row":1},"filename":"/r/a.py",'
    '"fix":null,"location":{"column":8,"row":1},"message":"`os` imported but unused",'
    '"name":"unused-import","noqa_row":1,"severity":"error",'
    '"url":"https://docs.astral.sh/ruff/rules/unused-import"}'
)


def _both(out: bytes) -> list:
    """parse_findings(out), checked against the plain ``json`` reader."""
    found = ruffrun.parse_findings(out)
    assert found == ruffrun._parse_json(out.decode())
    return found


def test_real_ruff_output_takes_the_fast_path(tree: Path, monkeypatch) -> None:
    run = ruffrun.RuffRun([str(tree)], codes=["F401", "F821", "E702"], cwd=tree)
    out = run._communicate()
    expected = ruffrun._parse_json(out.decode())

    def no_json(text: str) -> list:
        raise AssertionError("fell back to json")

    monkeypatch.setattr(ruffrun, "_parse_json", no_json)
    found = ruffrun.parse_findings(out)
    assert found == expected and len(found) == 6
    assert all(type(f) is ruffrun.Finding for f in found)
    assert all(type(v) is int for f in found for v in (f.line, f.column, f.noqa_row))


@pytest.mark.parametrize(
    "line",
    [
        _LINE.replace("`os` imported", 'say \\"os\\" \\\\ imported'),  # escapes
        _LINE.replace("`os`", "\\u00e9t\\u00e9"),
        _LINE.replace('"noqa_row":1', '"noqa_row":null'),  # (fast path too)
        _LINE.replace('"code":"F401"', '"code":null'),  # syntax errors have no code
        _LINE.replace('"cell":null', '"cell":3'),  # notebooks
        _LINE.replace('"fix":null', '"fix":{"applicability":"safe","edits":[]}'),
        _LINE.replace('"severity":"error",', ""),  # another ruff's keys
        _LINE.replace(",", ", "),  # another layout
        " " + _LINE + "\r",
        _LINE.replace("`os`", "caf\u00e9 \u2028 \U0001f600"),
    ],
)
def test_lines_the_fast_path_does_not_know_are_read_by_json(line: str) -> None:
    out = (_LINE + "\n" + line + "\n" + _LINE + "\n").encode()
    found = _both(out)
    assert len(found) == 3
    assert found[0] == found[2]


@pytest.mark.parametrize(
    "bad",
    [
        _LINE.replace('"row":1}', '"row":01}'),  # leading zero: not JSON
        _LINE.replace('"row":1}', '"row":\u0661}'),  # an Arabic-Indic digit
        _LINE.replace("`os`", "tab\there"),  # a raw control character
        _LINE.replace('"row":1}', '"row":"1"}', 1) + "x",
        _LINE + _LINE,  # two values on one line
        _LINE[:-1],  # cut short
        "[" + _LINE + "]",
    ],
)
def test_fast_path_fails_closed_on_what_json_rejects(bad: str) -> None:
    for out in (bad + "\n", _LINE + "\n" + bad + "\n" + _LINE):
        with pytest.raises(ruffrun.RuffError) as exc:
            ruffrun.parse_findings(out.encode())
        assert exc.value.code == "ruff_output"
    with pytest.raises(ruffrun.RuffError):
        ruffrun.parse_findings(b"\xff" + _LINE.encode())  # not UTF-8


def test_blank_and_missing_final_line_breaks() -> None:
    assert ruffrun.parse_findings(b"") == [] == ruffrun.parse_findings(b" \n\n")
    assert len(_both(_LINE.encode())) == 1
    assert len(_both((_LINE + "\n\n" + _LINE + "\n").encode())) == 2


# --- filing findings while ruff prints ----------------------------------------------------


def _finding(file: str, line: int, column: int, code: str) -> ruffrun.Finding:
    return ruffrun.Finding(file, line, column, code, "m", line)


class _Recorder:
    """A stand-in for Buckets that records what it is given, in order."""

    def __init__(self) -> None:
        self.seen: list[ruffrun.Finding] = []

    def add(self, findings: list[ruffrun.Finding]) -> None:
        self.seen += findings


@pytest.mark.parametrize("size", [1, 2, 3, 100])
@pytest.mark.parametrize(
    "order",
    [
        "sorted",
        "ties",  # several codes at one position, not in code order (ruff does this)
        "unsorted",
    ],
)
def test_stream_files_findings_in_report_order(size: int, order: str) -> None:
    from t4client.buckets import Stream

    a, b = "/r/a.py", "/r/b.py"
    findings = [
        _finding(a, 1, 1, "F401"),
        _finding(a, 1, 5, "E702"),
        _finding(a, 2, 1, "F821"),
        _finding(b, 1, 1, "F401"),
        _finding(b, 3, 1, "B008"),
    ]
    if order == "ties":
        findings[1:1] = [_finding(a, 1, 5, "F401"), _finding(a, 1, 5, "ANN001")]
        findings.append(_finding(b, 3, 1, "A001"))
    elif order == "unsorted":
        findings[0], findings[3] = findings[3], findings[0]
    made: list[_Recorder] = []

    def make() -> _Recorder:
        made.append(_Recorder())
        return made[-1]

    stream = Stream(make)  # type: ignore[arg-type]
    for i in range(0, len(findings), size):
        stream.add(findings[i : i + size])
    result = stream.result(list(findings))
    expected = sorted(findings, key=lambda f: (f.file, f.line, f.column, f.code))
    assert result.seen == expected
    # Only an order that is not ruff's (files out of order) makes it start over.
    assert len(made) == (2 if order == "unsorted" and size < len(findings) else 1)


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "--json-only", "--no-registry", "--no-cache", "--paths", "."],
        ["check", "--json", "--strict", "--codes", "F401,E702", "B008", "--paths", "a", "b"],
        ["check", "--paths", "a", "--paths", "b", "--codes", "x", "--codes", "F401"],
        ["check", "--waivers", "w.yml", "--report", "r.json", "--root", ".", "--upload"],
        ["check", "--sync", "--ignore-noqa", "--repository", "o/r", "--commit", "abc"],
        ["check", "--paths", "", "=x", "--json-only", "--json-only"],
    ],
)
def test_check_command_line_without_argparse_matches_argparse(argv: list[str]) -> None:
    from t4client import cli

    fast = cli._check_args(argv)
    assert fast is not None
    assert vars(fast) == vars(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--help"],
        ["check", "--no-reg"],  # an abbreviation argparse accepts
        ["check", "--paths=."],
        ["check", "--paths", "-1"],  # argparse takes "-1" as a value
        ["check", "--root", "-"],
        ["check", "--", "."],
        ["pre-pr", "a.py"],
        ["--version"],
        [],
    ],
)
def test_other_command_lines_go_to_argparse(argv: list[str]) -> None:
    from t4client import cli

    assert cli._check_args(argv) is None


# --- reading files: one buffer, bytes kept only where noqa rows need them ---------------------


def _scan(repo: Path, name: str, text: str) -> scanning.FileScan:
    write(repo, name, text)
    return scanning.scan_file(str(repo / name), scanning.new_buffer())


@pytest.mark.parametrize(
    ("before", "kept"),
    [
        ("import os\n", False),  # nothing before the annotation can span rows
        ("# a plain comment\nx = 1\n", False),
        ('s = """\nabc\n"""\n', True),  # a string: noqa rows are worked out from the bytes
        ("s = 'one'\n", True),  # any quote outside T4 comments (conservative)
        ("y = 1 + \\\n    2\n", True),  # a backslash continuation
    ],
)
def test_scan_keeps_the_bytes_only_when_noqa_rows_may_differ(
    repo: Path, before: str, kept: bool
) -> None:
    text = before + "import re" + ann("T4-k") + "\nz = 'after the annotation'\n"
    scan = _scan(repo, "k.py", text)
    line = before.count("\n") + 1
    assert [a.id for a in scan.annotations[line]] == ["T4-k"]
    assert (scan.data == text.encode()) if kept else (scan.data is None)


def test_scan_of_files_without_annotations_shares_one_empty_result(repo: Path) -> None:
    assert _scan(repo, "plain.py", "import os\n") is scanning.UNANNOTATED
    assert _scan(repo, "tagged.py", "x = 1  # TODO[T4-OTHER]: not ours\n") is scanning.UNANNOTATED
    assert scanning.scan_file(str(repo / "missing.py")) is scanning.UNANNOTATED
    assert scanning.UNANNOTATED.annotations == {}


def test_scan_reads_files_larger_than_the_buffer(repo: Path) -> None:
    filler = "x = 1\n" * 20_000  # 120 kB, past the 64 kB read buffer
    text = filler + "import os" + ann("T4-big") + "\n" + filler + "import re" + ann("T4-end")
    scan = _scan(repo, "big.py", text)  # no final newline either
    assert {line: [a.id for a in anns] for line, anns in scan.annotations.items()} == {
        20_001: ["T4-big"],
        40_002: ["T4-end"],
    }
    assert scan.data is None


def test_reused_buffer_never_leaks_one_file_into_the_next(repo: Path) -> None:
    buf = scanning.new_buffer()
    write(repo, "long.py", "y = 2\n" * 500 + "import os" + ann("T4-long") + "\n")
    write(repo, "short.py", "import os\n")
    assert scanning.scan_file(str(repo / "long.py"), buf).annotations
    assert scanning.scan_file(str(repo / "short.py"), buf) is scanning.UNANNOTATED


def test_carriage_returns_keep_ruffs_row_numbers(repo: Path) -> None:
    path = repo / "cr.py"
    path.write_bytes(b"a = 1\rb = 2\r\nimport os" + ann("T4-cr").encode() + b"\r\n")
    scan = scanning.scan_file(str(path))
    assert [a.id for a in scan.annotations[3]] == ["T4-cr"]
    assert scan.data == path.read_bytes()  # rare: kept whole for noqa_rows


@pytest.mark.parametrize("ns", [1_795_000_000_000_000_000, 1_795_000_000_123_456_789, 0])
def test_report_timestamp_without_datetime_matches_isoformat(ns: int, monkeypatch) -> None:
    import datetime as dt

    from t4client import validator

    monkeypatch.setattr(validator.time, "time_ns", lambda: ns)
    instant = dt.datetime.fromtimestamp(ns // 1000 / 1_000_000, dt.UTC)
    expected = instant.isoformat().replace("+00:00", "Z")
    assert validator.utc_timestamp() == expected
    assert validator.utc_timestamp(instant) == expected


_CANONICAL_BODY = '{"id":"T4-1","code":"F401","owner":"@a","ticket":"GH-1","reason":"kept"}'


@pytest.mark.parametrize(
    "line",
    [
        "import os  # TODO[T4-ISSUE]: " + _CANONICAL_BODY,
        "import os  # TODO[T4-ISSUE]: " + _CANONICAL_BODY + "   \t",  # trailing blanks
        "import os  # TODO[T4-ISSUE]: " + _CANONICAL_BODY + " trailing words",
        "import os  # TODO[T4-ISSUE]: " + _CANONICAL_BODY + "  # TODO[T4-ISSUE]: {}",
        "import os  # TODO[T4-ISSUE]: " + _CANONICAL_BODY + "  # TODO[T4-UNUSED-IMPORT]: x",
        "import os  # TODO[T4-ISSUE]: {" + '"id": "T4-2", "code": ["F401", "E702"]}',
        "import os  # TODO[T4-ISSUE]: {" + '"id": "T4-3", "code": "F401,F821"',  # unclosed
        "import os  # TODO[T4-ISSUE]: {}",
        "import os  # TODO[T4-ISSUE]: {]",
        'import os  # TODO[T4-ISSUE]: ["F401"]',  # not the canonical "{": general path
        "import os  #TODO[T4-ISSUE] " + _CANONICAL_BODY,  # another spelling of the tag
        "x = '# TODO[T4-ISSUE]: {'  # TODO[T4-ISSUE]: " + _CANONICAL_BODY,
    ],
)
def test_canonical_annotations_read_like_the_general_path(line: str, monkeypatch) -> None:
    import t4client.annotations as annotation_module

    fast = annotation_module.parse_line(line, 7)
    monkeypatch.setattr(annotation_module, "_CANONICAL", "\x00never\x00")
    general = annotation_module.parse_line(line, 7)
    assert fast == general
    assert [a.column for a in fast] == [a.column for a in general]


def test_canonical_annotation_skips_the_regular_expression(monkeypatch) -> None:
    import t4client.annotations as annotation_module

    monkeypatch.setattr(annotation_module, "tag_re", None)  # any use would raise
    [found] = annotation_module.parse_line("import os  # TODO[T4-ISSUE]: " + _CANONICAL_BODY, 3)
    assert (found.tag, found.line, found.column, found.codes) == ("T4-ISSUE", 3, 11, ["F401"])
    assert found.text == "# TODO[T4-ISSUE]: " + _CANONICAL_BODY
    assert found.data == json.loads(_CANONICAL_BODY) and found.parse_error is None


def test_only_the_listing_runs_with_one_ruff_thread(tree: Path, cli, fake_ruff, monkeypatch):
    # The listing works beside the lint; its idle workers would spin on the lint's cores.
    monkeypatch.delenv("RAYON_NUM_THREADS", raising=False)
    log = tree.parent / "ruff-runs.jsonl"
    real = _launch.default_ruff()
    assert real is not None
    fake_ruff(
        "import json, os, subprocess\n"
        f"with open({str(log)!r}, 'a') as fh:\n"
        "    fh.write(json.dumps(['--show-files' in sys.argv, "
        "os.environ.get('RAYON_NUM_THREADS')]) + '\\n')\n"
        f"sys.exit(subprocess.run({real!r} + sys.argv[1:]).returncode)"
    )
    result, report = check(cli, "--no-registry")
    assert result.code == 0 and report["summary"]["files_checked"] == 3
    runs = sorted(json.loads(line) for line in log.read_text().splitlines())
    assert runs == [[False, None], [True, "1"]]


def test_head_start_gives_the_listing_one_ruff_thread(tree: Path, monkeypatch) -> None:
    monkeypatch.delenv("RAYON_NUM_THREADS", raising=False)
    seen: list[tuple[bool, str | None]] = []
    real_spawn = os.posix_spawn

    def spy(path, argv, env, **kwargs):
        seen.append(("--show-files" in argv, env.get("RAYON_NUM_THREADS")))
        return real_spawn(path, argv, env, **kwargs)

    monkeypatch.setattr(os, "posix_spawn", spy)
    _launch.prestart(["--json-only", "--paths", "."])
    assert sorted(seen) == [(False, None), (True, "1")]


# --- seventh session: work moved before ruff prints, and checks done in C -------------------


def test_a_batch_in_order_is_not_sorted_again() -> None:
    from t4client.buckets import _in_order

    a = "/r/a.py"
    in_order = [_finding(a, 1, 1, "F401"), _finding(a, 1, 5, "E702"), _finding(a, 2, 1, "F821")]
    assert _in_order(in_order)
    assert _in_order([]) and _in_order(in_order[:1])
    assert not _in_order([in_order[1], in_order[0]])
    # The same position and code with noqa rows JSON gave (an int and None) cannot be
    # compared: the sort decides, with the key, as before.
    tie = [
        ruffrun.Finding(a, 1, 1, "F401", "m", 3),
        ruffrun.Finding(a, 1, 1, "F401", "m", None),
    ]
    assert not _in_order(tie)


def test_relative_paths_of_the_listed_files(tmp_path: Path) -> None:
    from t4client.validator import _relative_paths

    prefix = str(tmp_path) + os.sep
    files = [prefix + "a.py", prefix + "pkg/b.py"]
    assert _relative_paths(files, prefix) == {"a.py": files[0], "pkg/b.py": files[1]}
    assert _relative_paths([*files, "/elsewhere/c.py"], prefix) == {}  # then worked out later
    assert _relative_paths([], prefix) == {}


def test_concise_reader_seeded_with_relative_paths_reads_the_same(tmp_path: Path) -> None:
    prefix = str(tmp_path) + "/"
    known = {prefix + "a.py", prefix + "pkg/b.py"}
    block = b"a.py:1:8: F401 `os` imported but unused\npkg/b.py:2:1: F821 Undefined name `x`\n"
    seeded = {"a.py": prefix + "a.py", "pkg/b.py": prefix + "pkg/b.py"}
    assert ruffrun.parse_concise(block, prefix, known, dict(seeded)) == ruffrun.parse_concise(
        block, prefix, known
    )


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # Code before the T4 comments is what counts, through every annotated line.
        ("import os" + ann("T4-p") + "\nimport re" + ann("T4-q") + "\n", False),
        ("import os" + ann("T4-p") + "\ns = 'x'\nimport re" + ann("T4-q") + "\n", True),
        ("x = 1  # see C:\\path\nimport os" + ann("T4-p") + "\n", True),  # conservative
    ],
)
def test_scan_judges_the_code_before_each_comment(repo: Path, text: str, kept: bool) -> None:
    scan = scanning.scan_file(str(write(repo, "m.py", text)))
    assert scan.annotations
    assert (scan.data is not None) is kept


def test_a_backslash_ending_a_t4_comment_continues_nothing(repo: Path) -> None:
    from t4client.noqa_rows import noqa_rows

    text = "import os" + ann("T4-a") + " \\\nimport re" + ann("T4-b") + "\n"
    scan = scanning.scan_file(str(write(repo, "b.py", text)))
    assert list(scan.annotations) == [1, 2]
    assert scan.data is None  # every row is its own noqa row ...
    assert noqa_rows(text.encode(), 2) == {}  # ... as the tokenizer agrees


def test_a_file_ruff_lints_but_did_not_list_gets_its_slots(repo: Path) -> None:
    # The JSON Lines fallback may name a file discovery did not list: the filing reads it
    # then, and numbers its annotations so that the stale check sees them too.
    from t4client.buckets import Buckets

    path = write(repo, "late.py", "import os" + ann("T4-l1") + "\nprint(1)" + ann("T4-l2") + "\n")
    slots = scanning.CodeSlots()
    buckets = Buckets({}, {}, {}, slots, lambda f: Path(f).name, [], [])
    finding = ruffrun.Finding(str(path), 1, 8, "F401", "`os` imported but unused", 1)
    buckets.add([finding])
    assert [ann.id for ann in slots.anns] == ["T4-l1", "T4-l2"]
    assert list(buckets.marks) == [1, 0]  # line 2's F401 was not reported: stale
    assert [entry["id"] for entry in buckets.annotated] == ["T4-l1"]
