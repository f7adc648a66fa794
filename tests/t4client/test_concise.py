"""The validator reads ruff's concise output; whatever it is not sure of goes to JSON Lines.

Every test here runs real ruff. The reference is ruff's own JSON (``noqa_row`` included).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from t4client import ruffrun
from t4client._launch import DEFAULT_CODES, lint_args
from t4client.noqa_rows import noqa_rows
from t4client.ruffrun import NeedsJSON, RuffRun, parse_concise
from t4client.validator import run_check

from .conftest import write

ANN = '  # TODO[T4-ISSUE]: {{"id":"{id}","code":"{code}","owner":"@o","ticket":"T-1",' \
    '"status":"planned","reason":"kept on purpose"}}'  # fmt: skip

# Constructs whose noqa row is another row (strings, backslash chains, both merged on one
# line), and some that look like it but are not (brackets, a comment ending in a backslash).
TRICKY = '''\
y = undefined_a + \\
    1 + \\
    2
s = """
abc
""" + undefined_b + """
x
"""
t = f\'\'\'{undefined_c}
\'\'\'
u = (undefined_d,
     1)
v = "one \\
two" + undefined_e
# a comment that ends in a backslash \\
w = undefined_f
if True: x = undefined_g; z = \\
    3
q = (
    "a"
    f"{undefined_h}"
)
'''


def _ruff_json(root: Path, *names: str) -> list[dict]:
    return [json.loads(line) for line in _raw_json(root, *names).splitlines() if line.strip()]


def _raw_json(root: Path, *names: str) -> str:
    import subprocess

    args = lint_args(
        ["F821", "E701", "E702"], ignore_noqa=False, no_cache=True, output="json-lines"
    )
    cmd = [*ruffrun.ruff_command(), *args, *names]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_noqa_rows_agree_with_ruff(repo: Path, newline: str) -> None:
    write(repo, "tricky.py", TRICKY.replace("\n", newline))
    reported = _ruff_json(repo, "tricky.py")
    assert len(reported) >= 9
    data = (repo / "tricky.py").read_bytes()
    mapping = noqa_rows(data, data.count(b"\n") + 1)
    assert mapping is not None
    for item in reported:
        row = item["location"]["row"]
        assert mapping.get(row, row) == item["noqa_row"], item
    # Some rows really do move, so the comparison above is not vacuous.
    assert {mapping.get(i["location"]["row"]) for i in reported} - {None}


def test_noqa_rows_quick_answer_and_unknown() -> None:
    flat = b'import os\nimport re  # TODO[T4-ISSUE]: {"id": "T4-1"}\n'
    assert noqa_rows(flat, 2, [2]) == {}
    # A prefix cut inside a string is read whole.
    text = b's = """\n' + b"\n" * 3 + b'"""  # TODO[T4-ISSUE]: {}\nx = 1\n'
    assert noqa_rows(text, 2) == {1: 5, 2: 5, 3: 5, 4: 5}
    # Prefix cut after a backslash: the chain is followed to its end.
    assert noqa_rows(b"x = 1 + \\\n  2 + \\\n  3\n", 1) == {1: 3, 2: 3}
    # Code this Python cannot tokenize: no guess.
    assert noqa_rows(b'x = """never closed\n', 1) is None


def test_annotation_on_the_noqa_row_covers_the_finding(repo: Path) -> None:
    write(
        repo,
        "m.py",
        's = f"""\n{undefined_x}\n"""' + ANN.format(id="T4-n1", code="F821") + "\n"
        "y = undefined_y + \\\n    1" + ANN.format(id="T4-n2", code="F821") + "\n",
    )
    report = run_check(["."], codes=list(DEFAULT_CODES), root=repo, no_cache=True)
    assert report["summary"]["annotated"] == 2
    assert report["summary"]["unannotated"] == 0
    assert report["summary"]["stale_annotations"] == 0
    # Entries name the annotation's own line, where the comment is.
    assert [(a["line"], a["id"]) for a in report["annotations"]] == [(3, "T4-n1"), (5, "T4-n2")]


def test_concise_and_json_give_the_same_report(repo: Path, monkeypatch) -> None:
    write(repo, "tricky.py", TRICKY)
    write(
        repo,
        "pkg/a b:1:2: c.py",  # a path that itself looks like "path:row:col: "
        "import os" + ANN.format(id="T4-c1", code="F401") + "\nimport re\n",
    )
    write(repo, "pkg/ünï.py", 'import sys\nx = "é" + undefined_u\n')
    write(repo, "pkg/bad.py", "def (:\n")
    concise = run_check(["."], root=repo, codes=["F401", "F821", "E701", "E702"], no_cache=True)

    def json_only(block: bytes, *args: object, **kwargs: object) -> list:
        raise NeedsJSON("forced")

    monkeypatch.setattr(ruffrun, "parse_concise", json_only)
    via_json = run_check(["."], root=repo, codes=["F401", "F821", "E701", "E702"], no_cache=True)
    concise.pop("timestamp")
    via_json.pop("timestamp")
    assert concise == via_json
    assert concise["summary"]["total_findings"] >= 13
    assert concise["summary"]["annotated"] == 1


def test_parse_concise_is_strict(tmp_path: Path) -> None:
    prefix = str(tmp_path) + "/"
    known = {prefix + "a.py", prefix + "x:1:2: y.py"}
    found = parse_concise(
        b"a.py:3:9: F821 Undefined name `x`\n"
        b"a.py:1:1: invalid-syntax: Expected an expression\n"
        b"x:1:2: y.py:4:1: F401 `os` imported but unused\n",
        prefix,
        known,
    )
    assert [(f.file, f.line, f.column, f.code, f.noqa_row) for f in found] == [
        (prefix + "a.py", 3, 9, "F821", None),
        (prefix + "a.py", 1, 1, "invalid-syntax", None),
        (prefix + "x:1:2: y.py", 4, 1, "F401", None),
    ]
    assert found[0].message == "Undefined name `x`"
    assert parse_concise(b"", prefix, known) == []
    for bad in (
        b"other.py:1:1: F401 not listed\n",  # a file ruff did not list
        b"a.py:cell 1:1:1: F401 a notebook cell\n",
        b"\x1b[1ma.py\x1b[0m:1:1: F401 colours\n",
        b"a.py:1:1: F401 fine\nFound 1 error.\n",  # a line of another shape
        b"a.py:1:1: F401 \xff not UTF-8\n",
    ):
        with pytest.raises(NeedsJSON):
            parse_concise(bad, prefix, known)


def test_untokenizable_file_falls_back_to_json(repo: Path, monkeypatch) -> None:
    # The noqa rows of this file cannot be worked out here (forced): the run asks ruff
    # for JSON and still matches the annotation on the string's last line.
    write(
        repo,
        "m.py",
        's = f"""\n{undefined_x}\n"""' + ANN.format(id="T4-f1", code="F821") + "\n",
    )
    calls = []
    real = RuffRun.__init__

    def spy(self, *args, **kwargs):
        calls.append(kwargs.get("output"))
        real(self, *args, **kwargs)

    monkeypatch.setattr(RuffRun, "__init__", spy)
    monkeypatch.setattr("t4client.buckets.noqa_rows", lambda *a: None)
    report = run_check(["."], root=repo, no_cache=True)
    assert report["summary"]["annotated"] == 1
    assert calls.count("json-lines") == 1 and calls.count("concise") == 1


PLAIN_BLOCKS = [
    b"a.py:3:9: F821 Undefined name `x`\n",
    b"a.py:1:1: invalid-syntax: Expected an expression\na.py:2:5: E701 Multiple: colons\n",
    b"a.py:1:8: F401 `os` imported but unused\npkg/b.py:10:1: RUF012 \n",  # empty message
    b"pkg/b.py:1:1: SIM102 no final line break",
    "a.py:1:1: F401 \u00e9\u2028 unicode message\n".encode(),
]


@pytest.mark.parametrize("block", PLAIN_BLOCKS)
def test_plain_lines_are_split_like_the_pattern_reads_them(
    tmp_path: Path, block: bytes, monkeypatch
) -> None:
    prefix = str(tmp_path) + "/"
    known = {prefix + "a.py", prefix + "pkg/b.py"}
    strict = ruffrun._match_strict(block.decode(), prefix, known, {})

    def no_pattern(*args):
        raise AssertionError("a plain block went to the pattern")

    monkeypatch.setattr(ruffrun, "_match_strict", no_pattern)
    assert parse_concise(block, prefix, known) == strict
    assert [f.message for f in parse_concise(block, prefix, known)] == [f.message for f in strict]


@pytest.mark.parametrize(
    "block",
    [
        "a.py:\u0661:1: F401 an Arabic-Indic digit\n".encode(),
        b"a.py:+1:1: F401 a sign\n",
        b"a.py:1_0:1: F401 an underscore\n",
        b"a.py:1:1: f401 lower case\n",
        b"a.py:1:1: F401\n",  # no space after the code
        b"a.py:1:1:F401 no space before the code\n",
        b"a.py:1:1: F401 fine\n\na.py:2:1: F401 a blank line before\n",
    ],
)
def test_lines_the_split_does_not_trust_go_to_the_pattern(tmp_path: Path, block: bytes) -> None:
    prefix = str(tmp_path) + "/"
    with pytest.raises(NeedsJSON):
        parse_concise(block, prefix, {prefix + "a.py"})


def test_an_empty_path_is_not_the_folder_ruff_ran_in(tmp_path: Path) -> None:
    prefix = str(tmp_path) + "/"
    with pytest.raises(NeedsJSON):
        parse_concise(b":1:2: E1 m\n", prefix, {prefix, prefix + "a.py"})
