"""The official openai client, unchanged, pointed at T4's /v1 through a live server."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest

from apikeys.services import IssuedKey
from llmgate.models import UsageStatus

from .helpers import assert_no_reservation, last_usage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seed_prices"),
]


@pytest.fixture
def t4_client(live_server: Any, fake_openai: Any, llm_key: IssuedKey) -> Iterator[openai.OpenAI]:
    # Closed within the test: a keep-alive connection outliving it would be closed by the
    # live server's thread after the test database connection stopped being shared.
    with openai.OpenAI(
        base_url=live_server.url + "/v1", api_key=llm_key.secret, max_retries=0
    ) as client:
        yield client


def test_plain_completion(t4_client: openai.OpenAI, llm_key: IssuedKey) -> None:
    completion = t4_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=20,
    )
    assert completion.choices[0].message.content == "Echo: Say hello"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (8, 3)
    row = last_usage(llm_key.api_key.pk)
    assert (row.status, row.cost, row.upstream_id) == ("ok", Decimal("0.00007"), completion.id)


@pytest.mark.parametrize("include_usage", [True, False])
def test_streaming_completion(
    t4_client: openai.OpenAI, llm_key: IssuedKey, include_usage: bool
) -> None:
    kwargs: dict[str, Any] = {}
    if include_usage:
        kwargs["stream_options"] = {"include_usage": True}
    stream = t4_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "stream this back"}],
        stream=True,
        **kwargs,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream this back"
    usage = [c.usage for c in chunks if c.usage]
    assert len(usage) == (1 if include_usage else 0)
    row = last_usage(llm_key.api_key.pk)
    assert (row.status, row.streamed, row.prompt_tokens, row.completion_tokens) == (
        "ok",
        True,
        9,
        4,
    )
    assert_no_reservation(llm_key.api_key.pk)


def test_over_budget_raises_a_402_status_error(
    live_server: Any, fake_openai: Any, make_key: Any
) -> None:
    issued = make_key("poor", daily_limit=Decimal("0.01"))
    client = openai.OpenAI(base_url=live_server.url + "/v1", api_key=issued.secret, max_retries=0)
    with client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 402
    assert caught.value.code == "budget_exceeded"
    assert caught.value.type == "insufficient_quota"
    assert "budget" in caught.value.message


def test_upstream_failure_is_a_502(t4_client: openai.OpenAI, llm_key: IssuedKey) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        t4_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x #status=500"}]
        )
    assert caught.value.status_code == 502
    assert "Fake upstream failure" in caught.value.message
    assert_no_reservation(llm_key.api_key.pk)


def test_cut_stream_raises_in_the_client(t4_client: openai.OpenAI, llm_key: IssuedKey) -> None:
    stream = t4_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three four #cut"}],
        stream=True,
    )
    with pytest.raises(openai.APIError, match="broke off"):
        list(stream)
    row = last_usage(llm_key.api_key.pk)
    assert (row.status, row.cost) == (UsageStatus.ERROR, row.estimated_cost)
    assert_no_reservation(llm_key.api_key.pk)


def test_models_list(t4_client: openai.OpenAI) -> None:
    assert [m.id for m in t4_client.models.list()] == ["gpt-4", "gpt-4o", "gpt-4o-mini"]
