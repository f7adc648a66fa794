"""POST /llm/chat, POST /v1/chat/completions (plain and streaming), GET /llm/usage."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from apikeys.services import IssuedKey
from llmgate.gate import ChatParams, chat_stream
from llmgate.models import LLMUsage, UsageStatus

from .helpers import (
    assert_charged_worst_case,
    assert_no_reservation,
    budget_row,
    last_usage,
    post_json,
    post_v1,
)

pytestmark = pytest.mark.django_db


def _sse(response: Any) -> list[str]:
    raw = b"".join(response.streaming_content).decode()
    return [line[len("data: ") :] for line in raw.split("\n\n") if line.startswith("data: ")]


# --- /llm/chat -----------------------------------------------------------------------------
def test_llm_chat_with_prompt(fake_openai: Any, llm_key: IssuedKey, client_for: Any) -> None:
    response = post_json(
        client_for(llm_key), "/llm/chat", {"prompt": "Hello world", "model": "gpt-4o-mini"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    usage = last_usage(llm_key.api_key.pk)
    assert body["text"] == "Echo: Hello world"
    assert (body["prompt_tokens"], body["completion_tokens"]) == (8, 3)
    assert Decimal(body["cost"]) == Decimal("0.00007") == usage.cost
    assert Decimal(body["remaining_today"]) == Decimal("10.00") - Decimal("0.00007")
    assert body["request_id"] == usage.request_id
    assert fake_openai.config.requests[-1]["max_completion_tokens"] == 1024


def test_llm_chat_with_messages_and_max_tokens(
    fake_openai: Any, llm_key: IssuedKey, client_for: Any
) -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "one two"}]
    response = post_json(
        client_for(llm_key),
        "/llm/chat",
        {"messages": messages, "model": "gpt-4", "max_tokens": 2},
    )
    assert response.status_code == 200
    assert response.json()["text"] == "Echo: one"  # cut at max_tokens by the fake
    assert fake_openai.config.requests[-1]["max_completion_tokens"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "gpt-4o"}, "non_field_errors"),
        ({"model": "gpt-4o", "prompt": "a", "messages": [{"role": "user"}]}, "non_field_errors"),
        ({"prompt": "a"}, "model"),
        ({"model": "gpt-4o", "prompt": "a", "max_tokens": 0}, "max_tokens"),
        ({"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]}, "messages"),
        ({"model": "gpt-4o", "prompt": "a", "temperature": 1}, "temperature"),
    ],
)
def test_llm_chat_validation(
    fake_openai: Any, llm_key: IssuedKey, client_for: Any, body: dict, field: str
) -> None:
    response = post_json(client_for(llm_key), "/llm/chat", body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["fields"]
    assert not LLMUsage.objects.exists()


def test_llm_chat_over_budget_is_402(fake_openai: Any, make_key: Any, client_for: Any) -> None:
    issued = make_key("poor", daily_limit=Decimal("0.01"))
    response = post_json(client_for(issued), "/llm/chat", {"prompt": "hi", "model": "gpt-4"})
    assert response.status_code == 402
    body = response.json()
    assert body["error"] == "budget_exceeded"
    assert "budget" in body["detail"]
    assert body["remaining_today"] == "0.01"
    assert last_usage(issued.api_key.pk).status == UsageStatus.REFUSED
    assert fake_openai.config.requests == []


def test_llm_chat_unpriced_model(fake_openai: Any, llm_key: IssuedKey, client_for: Any) -> None:
    response = post_json(client_for(llm_key), "/llm/chat", {"prompt": "hi", "model": "llama"})
    assert response.status_code == 400
    assert response.json()["error"] == "model_not_priced"
    assert response.json()["priced_models"] == ["gpt-4", "gpt-4o", "gpt-4o-mini"]


@pytest.mark.parametrize(("directive", "status"), [("#status=500", 502), ("#sleep=1", 504)])
def test_llm_chat_upstream_failure(
    fake_openai: Any,
    llm_key: IssuedKey,
    client_for: Any,
    settings: Any,
    directive: str,
    status: int,
) -> None:
    settings.OPENAI_TIMEOUT_SECONDS = 0.3
    response = post_json(
        client_for(llm_key), "/llm/chat", {"prompt": f"x {directive}", "model": "gpt-4o"}
    )
    assert response.status_code == status
    body = response.json()
    assert body["error"] == ("upstream_error" if status == 502 else "upstream_timeout")
    if status == 502:
        assert "Fake upstream failure with status 500" in body["detail"]
        assert body["upstream_status"] == 500
    assert_no_reservation(llm_key.api_key.pk)
    assert last_usage(llm_key.api_key.pk).status == UsageStatus.ERROR


def test_llm_chat_without_openai_key_is_503(
    fake_openai: Any, llm_key: IssuedKey, client_for: Any, settings: Any
) -> None:
    settings.OPENAI_API_KEY = ""
    response = post_json(client_for(llm_key), "/llm/chat", {"prompt": "hi", "model": "gpt-4o"})
    assert response.status_code == 503
    assert response.json()["error"] == "llm_not_configured"


def test_llm_chat_needs_the_scope(fake_openai: Any, make_key: Any, client_for: Any) -> None:
    issued = make_key("reader", scopes=["intents:read"])
    response = post_json(client_for(issued), "/llm/chat", {"prompt": "hi", "model": "gpt-4o"})
    assert response.status_code == 403
    assert response.json()["error"] == "missing_scope"


def test_llm_chat_needs_a_key(fake_openai: Any, api_client: Any) -> None:
    response = post_json(api_client, "/llm/chat", {"prompt": "hi", "model": "gpt-4o"})
    assert response.status_code == 401


# --- /llm/usage ----------------------------------------------------------------------------
def test_usage_shows_today_and_recent_calls(
    fake_openai: Any,
    llm_key: IssuedKey,
    client_for: Any,
    django_assert_num_queries: Any,
) -> None:
    client = client_for(llm_key)
    for prompt in ["a", "b #status=500", "c"]:
        post_json(client, "/llm/chat", {"prompt": prompt, "model": "gpt-4o-mini"})
    # key lookup, today's budget row, the recent calls, the request-log insert.
    with django_assert_num_queries(4):
        response = client.get("/llm/usage?limit=2")
    assert response.status_code == 200
    body = response.json()
    spent = sum(row.cost for row in LLMUsage.objects.all())
    assert Decimal(body["spent"]) == spent
    assert Decimal(body["reserved"]) == 0
    assert Decimal(body["remaining"]) == Decimal("10") - spent
    assert (body["calls"], body["refusals"], body["agent_id"]) == (3, 0, "agent-llm")
    assert [row["status"] for row in body["recent"]] == ["ok", "error"]
    assert body["recent"][1]["error"].startswith("upstream HTTP 500")


def test_usage_of_a_fresh_key(llm_key: IssuedKey, client_for: Any) -> None:
    body = client_for(llm_key).get("/llm/usage").json()
    assert (body["spent"], body["remaining"], body["recent"]) == (
        "0.0000000000",
        "10.0000000000",
        [],
    )


# --- /v1/chat/completions -------------------------------------------------------------------
def test_v1_plain_returns_the_upstream_body(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any
) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Hi there"}],
        "temperature": 0.2,
        "max_tokens": 50,
    }
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["content"] == "Echo: Hi there"
    assert data["usage"]["prompt_tokens"] == 8
    sent = fake_openai.config.requests[-1]
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 50)
    assert "max_completion_tokens" not in sent
    usage = last_usage(llm_key.api_key.pk)
    assert response["X-T4-Request-Id"] == usage.request_id
    assert usage.upstream_id == data["id"]
    assert usage.cost == Decimal("0.00042")  # 8 x 0.03/1K + 3 x 0.06/1K


@pytest.mark.parametrize(
    ("messages", "text"),
    [
        ("hello", "list"),
        (["hello"], "messages[0] must be an object"),
        ([{"role": "user", "content": 3}], "messages[0].content must be a string"),
        ([{"role": "robot", "content": "x"}], "messages[0].role must be one of"),
    ],
)
def test_v1_rejects_malformed_messages(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any, messages: Any, text: str
) -> None:
    response = post_v1(api_client, {"model": "gpt-4", "messages": messages}, llm_key.secret)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "messages")
    assert text in error["message"]
    assert not LLMUsage.objects.exists()
    assert fake_openai.config.requests == []


def test_v1_errors_use_the_openai_shape(fake_openai: Any, make_key: Any, api_client: Any) -> None:
    issued = make_key("poor", daily_limit=Decimal("0.01"))
    response = post_v1(
        api_client,
        {"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]},
        issued.secret,
    )
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["type"] == "insufficient_quota"
    assert error["code"] == "budget_exceeded"
    assert "budget" in error["message"]

    response = post_v1(api_client, {"model": "gpt-4", "messages": []}, issued.secret)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"

    response = post_v1(
        api_client, {"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}, "t4_bad_bad"
    )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"

    response = post_v1(api_client, {"model": "x", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_v1_upstream_error_is_502_openai_shaped(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any
) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x #status=503"}]}
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert error["upstream_status"] == 503
    assert "Fake upstream failure with status 503" in error["message"]
    assert_no_reservation(llm_key.api_key.pk)


def test_v1_accepts_any_accept_header(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any
) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
    response = post_json(
        api_client,
        "/v1/chat/completions",
        body,
        HTTP_AUTHORIZATION=f"Bearer {llm_key.secret}",
        HTTP_ACCEPT="text/event-stream",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    _sse(response)


@pytest.mark.parametrize("client_wants_usage", [True, False])
def test_v1_stream_settles_from_the_usage_chunk(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any, client_wants_usage: bool
) -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "stream me please"}],
        "stream": True,
    }
    if client_wants_usage:
        body["stream_options"] = {"include_usage": True}
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 200
    events = _sse(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Echo: stream me please"
    usage_chunks = [c for c in chunks if not c["choices"]]
    assert len(usage_chunks) == (1 if client_wants_usage else 0)
    # The gate always asks the upstream for usage.
    assert fake_openai.config.requests[-1]["stream_options"] == {"include_usage": True}
    row = last_usage(llm_key.api_key.pk)
    assert (row.status, row.streamed, row.prompt_tokens, row.completion_tokens) == (
        "ok",
        True,
        9,
        4,
    )
    assert row.cost == Decimal("0.000085")
    assert_no_reservation(llm_key.api_key.pk)
    assert budget_row(llm_key.api_key.pk).spent == Decimal("0.000085")


def test_v1_cut_stream_settles_at_the_worst_case(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any
) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "one two three four #cut"}],
        "stream": True,
    }
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 200
    events = _sse(response)
    assert "[DONE]" not in events
    assert json.loads(events[-1])["error"]["code"] == "upstream_stream_cut"
    row = assert_charged_worst_case(llm_key.api_key.pk)
    assert row.status == UsageStatus.ERROR
    assert "stream" in row.error


def test_v1_stream_abandoned_by_the_client_is_settled(fake_openai: Any, llm_key: IssuedKey) -> None:
    # The WSGI server closes the response (and so the stream) when the client goes away.
    params = ChatParams(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "a b c d"}],
        max_tokens=50,
        stream=True,
    )
    stream = chat_stream(api_key=llm_key.api_key, params=params)
    next(iter(stream))
    stream.close()
    stream.close()  # idempotent: settled once
    row = last_usage(llm_key.api_key.pk)
    assert (row.status, row.cost) == (UsageStatus.ERROR, row.estimated_cost)
    assert "client disconnected" in row.error
    assert LLMUsage.objects.count() == 1
    assert_no_reservation(llm_key.api_key.pk)


def test_stream_closed_before_the_first_byte_is_settled(
    fake_openai: Any, llm_key: IssuedKey
) -> None:
    params = ChatParams(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_tokens=5, stream=True
    )
    chat_stream(api_key=llm_key.api_key, params=params).close()
    assert last_usage(llm_key.api_key.pk).status == UsageStatus.ERROR
    assert_no_reservation(llm_key.api_key.pk)


def test_v1_stream_error_before_first_byte_is_502(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any
) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "#status=500"}],
        "stream": True,
    }
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "upstream_error"
    assert_no_reservation(llm_key.api_key.pk)
    assert last_usage(llm_key.api_key.pk).status == UsageStatus.ERROR


def test_v1_n_choices_reserve_n_times_max_tokens(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any
) -> None:
    body = {
        "model": "gpt-4",
        "messages": [{"role": "user", "content": "x"}],
        "n": 3,
        "max_completion_tokens": 10,
    }
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 200
    row = last_usage(llm_key.api_key.pk)
    # prompt bound 4 + 8 + 16 = 28 tokens; completion bound 30.
    assert row.estimated_cost == Decimal("0.00264")
    assert fake_openai.config.requests[-1]["n"] == 3


def test_v1_models_lists_priced_models(llm_key: IssuedKey, client_for: Any) -> None:
    response = client_for(llm_key).get("/v1/models")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["gpt-4", "gpt-4o", "gpt-4o-mini"]
