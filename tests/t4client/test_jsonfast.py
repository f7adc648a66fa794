"""t4client.jsonfast gives json's own answers (values, text and error messages)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from t4client import jsonfast

DOCUMENTS = [
    '{"id":"T4-1","code":"F401","owner":"@a","ticket":"GH-1","status":"planned"}',
    '{"nested": {"list": [1, -2, 3.5e3, 1E-2, 0.1, true, false, null]}, "e": ""}',
    '{"unicode": "é \\u00e9 \\ud83d\\ude00 \\u2028", "escapes": "\\"\\\\\\/\\b\\f\\n\\r\\t"}',
    '{"big": 123456789012345678901234567890, "neg": -0, "float": -0.0}',
    '{"nan": NaN, "inf": Infinity, "ninf": -Infinity}',
    '{"a": 1, "a": 2}',
    "[1, 2, 3]  trailing text",
    '"a string"',
    "  {}",
    "{",
    '{"a": }',
    '{"a": 1,}',
    '{"control": "a\tb"}',
    "",
    "nul",
    '{"lone": "\\ud800"}',
    "[" * 50 + "]" * 50,
]


def _json_answer(text: str, index: int):
    try:
        return ("ok", json.JSONDecoder().raw_decode(text, index))
    except ValueError as exc:
        return ("error", type(exc), str(exc))


def _fast_answer(text: str, index: int):
    try:
        return ("ok", jsonfast.decode_at(text, index))
    except ValueError as exc:
        return ("error", type(exc), str(exc))


def _same(a, b) -> bool:
    # NaN is not equal to itself; compare the texts json writes for them instead.
    return json.dumps(a, default=repr) == json.dumps(b, default=repr)


@pytest.mark.parametrize("accelerated", [True, False])
@pytest.mark.parametrize("text", DOCUMENTS)
def test_decode_at_answers_like_json(text: str, accelerated: bool, monkeypatch) -> None:
    if not accelerated:
        monkeypatch.setattr(jsonfast, "_FAST", None)
    for index in {0, min(2, len(text))}:
        assert _same(_fast_answer(text, index), _json_answer(text, index))


REPORTS = [
    {"status": "fail", "summary": {"total": 3}, "list": [{"file": "a.py", "line": 1}]},
    {"text": 'é ü \u2028 \n\t"\\ \x00 \x1f', "emoji": "😀", "lone": "\ud800"},
    {"floats": [0.1, 1e300, -0.0, 1.5, math.inf, -math.inf, math.nan], "int": 10**30},
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key"},
    {"tuple": (1, 2), "empty": {}, "nested": [[[]]], "bools": [True, False, None]},
    {"decimal": Decimal("1.10"), "path": Path("a/b.py")},  # default=str
    "just a string",
    [],
]


@pytest.mark.parametrize("accelerated", [True, False])
@pytest.mark.parametrize("data", REPORTS)
def test_dumps_compact_writes_what_json_writes(data, accelerated: bool, monkeypatch) -> None:
    if not accelerated:
        monkeypatch.setattr(jsonfast, "_FAST", None)
    expected = json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), default=str, check_circular=False
    ).encode(data)
    assert jsonfast.dumps_compact(data) == expected


def test_the_accelerator_is_used_on_cpython() -> None:
    if sys.implementation.name != "cpython":
        pytest.skip("the C accelerator is CPython's")
    assert jsonfast._FAST is not None


def test_a_plain_check_imports_neither_json_nor_re(repo: Path) -> None:
    # What the module is for: `python -m t4client check`, as users run it, never loads json
    # or re (~5 ms) when the annotations are canonical.
    (repo / "a.py").write_text(
        'import os  # TODO[T4-ISSUE]: {"id":"T4-1","code":"F401","owner":"@a",'
        '"ticket":"GH-1","status":"planned","reason":"kept for the plugin API"}\n'
        "import re\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("T4_RUFF", None)
    command = ["-X", "importtime", "-m", "t4client", "check", "--json-only", "--no-registry"]
    done = subprocess.run(
        [sys.executable, *command, "--paths", "."],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["annotated"] == 1 and report["summary"]["unannotated"] == 1
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "t4client.validator" in imported
    assert not imported & {"json", "re", "enum", "subprocess"}


@pytest.mark.parametrize("flag", [6, 7, 8])  # sort_keys, skipkeys, allow_nan
def test_an_accelerator_with_other_settings_is_not_trusted(flag: int, monkeypatch) -> None:
    import _json

    real = _json.make_encoder

    def flipped(*args):
        args = list(args)
        args[flag] = not args[flag]
        return real(*args)

    monkeypatch.setattr(_json, "make_encoder", flipped)
    assert jsonfast._accelerated() is None


def test_an_accelerator_with_another_default_is_not_trusted(monkeypatch) -> None:
    import _json

    real = _json.make_encoder
    monkeypatch.setattr(_json, "make_encoder", lambda *a: real(a[0], repr, *a[2:]))
    assert jsonfast._accelerated() is None
