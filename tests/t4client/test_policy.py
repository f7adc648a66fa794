"""The policy client against a live fake intent API on 127.0.0.1, with real ruff."""

from __future__ import annotations

import contextlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from t4client import _http
from t4client.policy import (
    MissingIntentsError,
    intents_by_file,
    pre_pr_check,
    register_intent,
    reserved_intent_id,
)
from tests.t4client.conftest import write

SEED_EXAMPLE = """
from t4client.policy import pre_pr_check

# Before opening PR, validate all files have intents
files = ["lukhas/core/foo.py", "lukhas/api/bar.py"]
critical_codes = ["F821", "F401"]

try:
    pre_pr_check(files, critical_codes, auto_create_reserved=True)
    print("✅ All files have registered intents, safe to create PR")
except RuntimeError as e:
    print(f"❌ Missing intents: {e}")
    print("Register intents before opening PR")
"""


def test_covered_by_file_code_and_line(repo: Path, fake_api) -> None:
    write(repo, "src/a.py", "import os\nx = undefined_name\n")
    fake_api.add(id="I1", code="F401", file="src/a.py", line=1, status="planned")
    fake_api.add(
        id="I2",
        code="F821",
        file="src/a.py",
        line=2,
        status="accepted",
        expires_at="2999-01-01T00:00:00Z",
    )
    result = pre_pr_check(["src/a.py"], ["F821", "F401"])
    assert result["status"] == "covered"
    assert {c["intent"] for c in result["covered"]} == {"I1", "I2"}
    assert not any(r[0] == "POST" for r in fake_api.requests)


def test_covered_by_the_lines_annotation_id(repo: Path, fake_api) -> None:
    write(repo, "a.py", 'import os  # TODO[T4-ISSUE]: {"id": "T4-77", "code": "F401"}\n')
    fake_api.add(id="T4-77", code="F401", file="a.py", line=40, status="committed")
    assert pre_pr_check(["a.py"], ["F401"])["status"] == "covered"


@pytest.mark.parametrize(
    "intent",
    [
        {"status": "reserved"},
        {"status": "expired"},
        {"status": "accepted", "expires_at": "2000-01-01T00:00:00Z"},
        {"status": "planned", "line": 2},
        {"status": "planned", "code": "F821"},
    ],
)
def test_not_covering_intents(repo: Path, fake_api, intent: dict) -> None:
    write(repo, "a.py", "import os\n")
    fake_api.add(**{"id": "X", "code": "F401", "file": "a.py", "line": 1, **intent})
    with pytest.raises(MissingIntentsError):
        pre_pr_check(["a.py"], ["F401"], auto_create_reserved=False)


def test_missing_with_auto_create_twice_makes_one_placeholder(repo: Path, fake_api) -> None:
    write(repo, "a.py", "import os\nx = undefined_name\n")
    with pytest.raises(MissingIntentsError) as first:
        pre_pr_check(["a.py"], ["F821", "F401"], auto_create_reserved=True)
    assert isinstance(first.value, RuntimeError)
    assert [(m["file"], m["line"], m["code"]) for m in first.value.missing] == [
        ("a.py", 1, "F401"),
        ("a.py", 2, "F821"),
    ]
    assert "a.py:1 F401" in str(first.value) and "a.py:2 F821" in str(first.value)
    assert len(first.value.created) == 2
    with pytest.raises(MissingIntentsError) as second:
        pre_pr_check(["a.py"], ["F821", "F401"], auto_create_reserved=True)
    assert second.value.created == []
    reserved = [i for i in fake_api.intents.values() if i["status"] == "reserved"]
    assert len(reserved) == 2
    assert {i["id"] for i in reserved} == {
        reserved_intent_id("a.py", 1, "F401"),
        reserved_intent_id("a.py", 2, "F821"),
    }
    assert len([r for r in fake_api.requests if r[0] == "POST"]) == 2


def test_a_409_from_a_concurrent_run_is_not_an_error(repo: Path, fake_api) -> None:
    write(repo, "a.py", "import os\n")
    fake_api.by_file_paginated = True  # {"results": [...]} form
    placeholder = reserved_intent_id("a.py", 1, "F401")
    # Registered by someone else under another file name view: by_file will not show it.
    fake_api.add(id=placeholder, code="F401", file="elsewhere.py", line=1, status="reserved")
    with pytest.raises(MissingIntentsError) as exc:
        pre_pr_check(["a.py"], ["F401"])
    assert exc.value.created == []


def test_api_down_is_an_error_not_a_pass(repo: Path, monkeypatch) -> None:
    write(repo, "a.py", "import os\n")
    monkeypatch.setenv("T4_API_KEY", "k")  # T4_INTENT_API points at a closed port
    with pytest.raises(_http.T4APIUnavailable) as exc:
        pre_pr_check(["a.py"], ["F401"])
    assert isinstance(exc.value, RuntimeError)
    assert not isinstance(exc.value, MissingIntentsError)
    assert "unreachable" in str(exc.value)


def test_api_error_status_is_an_error(repo: Path, fake_api, monkeypatch) -> None:
    write(repo, "a.py", "import os\n")
    monkeypatch.setenv("T4_API_KEY", "wrong")
    with pytest.raises(_http.T4APIError) as exc:
        pre_pr_check(["a.py"], ["F401"])
    assert exc.value.status == 403
    assert "forbidden: unknown key" in str(exc.value)


def test_no_key_is_a_clear_error(repo: Path) -> None:
    write(repo, "a.py", "import os\n")
    with pytest.raises(_http.T4ConfigError, match="T4_API_KEY"):
        pre_pr_check(["a.py"], ["F401"])


def test_clean_files_pass_without_the_api(repo: Path) -> None:
    write(repo, "a.py", "import os\nprint(os)\n")
    assert pre_pr_check("a.py", ["F401"])["findings"] == 0


def test_url_parameters_are_encoded(repo: Path, fake_api) -> None:
    name = "dir with space/a&b=c#d.py"
    fake_api.add(id="E1", code="F401", file=name, line=1, status="planned")
    assert [i["id"] for i in intents_by_file(name)] == ["E1"]
    assert fake_api.requests[-1][2]["file"] == [name]


def test_register_intent_and_duplicate(fake_api) -> None:
    payload = {"id": "T4-new", "code": "F401", "file": "a.py", "line": 1, "status": "planned"}
    assert register_intent(payload)["id"] == "T4-new"
    with pytest.raises(_http.T4APIError) as exc:
        register_intent(payload)
    assert exc.value.status == 409
    assert exc.value.error == "conflict"


def test_configuration_is_read_at_call_time(fake_api, monkeypatch) -> None:
    fake_api.add(id="E1", code="F401", file="a.py", line=1, status="planned")
    assert len(intents_by_file("a.py")) == 1
    monkeypatch.setenv("T4_INTENT_API", "http://127.0.0.1:9")
    with pytest.raises(_http.T4APIUnavailable):
        intents_by_file("a.py")


@pytest.mark.parametrize("covered", [True, False])
def test_seed_example_runs_as_written(repo: Path, fake_api, covered: bool) -> None:
    write(repo, "lukhas/core/foo.py", "import os\n")
    write(repo, "lukhas/api/bar.py", "x = undefined_name\n")
    if covered:
        fake_api.add(id="A", code="F401", file="lukhas/core/foo.py", line=1, status="planned")
        fake_api.add(id="B", code="F821", file="lukhas/api/bar.py", line=1, status="committed")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(SEED_EXAMPLE, "seed_example", "exec"), {})  # noqa: S102 (the seed's text)
    if covered:
        assert out.getvalue().startswith("✅ All files have registered intents")
    else:
        assert "❌ Missing intents: 2 finding(s)" in out.getvalue()
        assert "lukhas/api/bar.py:1 F821" in out.getvalue()


def test_pre_pr_cli_exit_codes(repo: Path, cli, fake_api, monkeypatch) -> None:
    write(repo, "a.py", "import os\n")
    result = cli("pre-pr", "a.py", "--codes", "F401", "--no-auto-create")
    assert result.code == 1
    assert "a.py:1 F401" in result.out
    assert not fake_api.intents
    result = cli("pre-pr", "a.py", "--codes", "F401", "--json")
    assert result.code == 1
    assert result.json()["created"] == [reserved_intent_id("a.py", 1, "F401")]
    fake_api.add(id="C", code="F401", file="a.py", line=1, status="implemented")
    result = cli("pre-pr", "a.py", "--codes", "F401", "--json")
    assert result.code == 0
    assert result.json()["status"] == "covered"
    monkeypatch.setenv("T4_INTENT_API", "http://127.0.0.1:9")
    result = cli("pre-pr", "a.py", "--codes", "F401")
    assert result.code == 2
    assert "unreachable" in result.err
    monkeypatch.setenv("T4_RUFF", "/nonexistent/ruff")
    assert cli("pre-pr", "a.py").code == 2


# --- LLM gate client --------------------------------------------------------------------


def test_call_openai_chat_over_the_gate(fake_api) -> None:
    from t4client.llm import call_openai_chat

    result = call_openai_chat(
        "Explain this function", "gpt-4o-mini", agent_id="my-agent", max_completion_tokens=64
    )
    assert result["text"] == "hi"
    assert result["cost"] == Decimal("0.000025")
    assert f"{result['cost']:.4f}" == "0.0000"
    method, path, _, body = fake_api.requests[-1]
    assert (method, path) == ("POST", "/llm/chat")
    assert body == {"prompt": "Explain this function", "model": "gpt-4o-mini", "max_tokens": 64}


@pytest.mark.parametrize("status", [402, 403])
def test_call_openai_chat_refused_is_permission_error(fake_api, status: int) -> None:
    from t4client.llm import call_openai_chat

    fake_api.llm_status = status
    with pytest.raises(PermissionError, match="daily limit reached"):
        call_openai_chat("hi", "gpt-4o", agent_api_key="t4_test_key_0123456789")


def test_call_openai_chat_server_error(fake_api) -> None:
    from t4client.llm import call_openai_chat

    fake_api.llm_status = 500
    with pytest.raises(_http.T4APIUnavailable):
        call_openai_chat("hi", "gpt-4o")


def test_error_bodies_are_read(fake_api, monkeypatch) -> None:
    monkeypatch.setenv("T4_API_KEY", "bad")
    with pytest.raises(_http.T4APIError) as exc:
        intents_by_file("a.py")
    assert (exc.value.status, exc.value.error, exc.value.detail) == (
        403,
        "forbidden",
        "unknown key",
    )
    assert json.dumps(exc.value.detail)
