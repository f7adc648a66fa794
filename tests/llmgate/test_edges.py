"""Edge cases of the gate's money handling found in review: nothing left reserved, nothing
written in a form a client misreads, no provider key passed on."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

import llmgate
from apikeys.services import IssuedKey
from llmgate import upstream
from llmgate.gate import NO_USAGE_NOTE
from llmgate.models import KeyDailyBudget, UsageStatus, money_text
from llmgate.pricing import Price
from llmgate.selectors import utc_today
from llmgate.services import budget_reserve, llm_call_settle

from .helpers import (
    assert_charged_worst_case,
    budget_row,
    post_v1,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("usage", [(3_000_000_000, 5), (5, 2**63)])
def test_token_counts_no_column_holds_are_charged_the_worst_case(
    fake_openai: Any, llm_key: IssuedKey, api_client: Any, usage: tuple[int, int]
) -> None:
    fake_openai.config.usage = usage
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    response = post_v1(api_client, body, llm_key.secret)
    assert response.status_code == 200, response.content
    row = assert_charged_worst_case(llm_key.api_key.pk)
    assert (row.status, row.error) == (UsageStatus.OK, NO_USAGE_NOTE)
    assert (row.prompt_tokens, row.completion_tokens) == (0, 0)


@pytest.mark.parametrize("tokens", [10**30, 1_000_001, 0, True, 2.0])
def test_python_api_caps_max_completion_tokens_like_http(
    fake_openai: Any, llm_key: IssuedKey, tokens: Any
) -> None:
    with pytest.raises(ValueError, match="max_completion_tokens"):
        llmgate.call_openai_chat(
            "hi", "gpt-4o", agent_api_key=llm_key.secret, max_completion_tokens=tokens
        )
    assert not KeyDailyBudget.objects.filter(api_key_id=llm_key.api_key.pk).exists()


def test_provider_error_text_never_carries_an_api_key(settings: Any) -> None:
    settings.OPENAI_API_KEY = "sk-live-configured-secret-1234"
    masked = "Incorrect API key provided: sk-proj-********************WXYZ. See docs."
    assert "sk-" not in upstream.redact_keys(masked)
    assert "WXYZ" not in upstream.redact_keys(masked)
    echoed = "proxy says: bad key sk-live-configured-secret-1234 (rejected)"
    assert "configured-secret" not in upstream.describe_error(RuntimeError(echoed))
    assert upstream.redact_keys("no key here: task-1234") == "no key here: task-1234"


def test_money_is_never_written_with_an_exponent(
    fake_openai: Any, make_key: Any, api_client: Any
) -> None:
    llmgate_price = {"prompt_per_1k": Decimal("0.000150"), "completion_per_1k": Decimal("0")}
    from llmgate.models import ModelPrice

    ModelPrice.objects.update_or_create(model="tiny-model", defaults=llmgate_price)
    issued = make_key("agent-tiny", daily_limit=Decimal("1.00"))
    fake_openai.config.usage = (1, 0)
    body = {"model": "tiny-model", "messages": [{"role": "user", "content": "x"}]}
    response = post_v1(api_client, {**body, "max_tokens": 1}, issued.secret)
    assert response.status_code == 200, response.content
    assert response["X-T4-Cost"] == "0.0000001500"
    who = api_client.get("/whoami", HTTP_X_T4_API_KEY=issued.secret).json()
    assert who["spent_today"] == "0.0000001500"
    assert who["reserved_today"] == "0.0000000000"
    assert "E" not in who["remaining_today"]
    assert money_text(Decimal("1E+2")) == "100.0000000000"


def test_settling_after_the_reservation_was_released_never_goes_negative(
    llm_key: IssuedKey,
) -> None:
    price = Price("gpt-4o", Decimal("0.03"), Decimal("0.06"))
    reservation = budget_reserve(
        api_key=llm_key.api_key, day=utc_today(), price=price, prompt_bound=100, completion_bound=10
    )
    # What closing the day does to a reservation still in flight at midnight.
    KeyDailyBudget.objects.filter(api_key_id=llm_key.api_key.pk).update(reserved=Decimal(0))
    llm_call_settle(reservation=reservation, status=UsageStatus.OK, cost=Decimal("0.001"))
    row = budget_row(llm_key.api_key.pk)
    assert (row.reserved, row.spent) == (Decimal(0), Decimal("0.001"))


class _HtmlResponse:
    status_code = 200
    content = b"<html>gateway page</html>"

    def json(self) -> Any:
        return json.loads(self.content)


class _HtmlClient:
    def post(self, *args: Any, **kwargs: Any) -> _HtmlResponse:
        return _HtmlResponse()


def test_a_success_status_without_json_is_charged_the_worst_case(
    fake_openai: Any, llm_key: IssuedKey, client_for: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(upstream, "get_client", lambda: _HtmlClient())
    response = client_for(llm_key).post(
        "/llm/chat",
        data=json.dumps({"prompt": "hi", "model": "gpt-4o"}),
        content_type="application/json",
    )
    assert response.status_code == 502
    assert "not JSON" in response.json()["detail"]
    row = assert_charged_worst_case(llm_key.api_key.pk)
    assert row.status == UsageStatus.ERROR
    assert "charged the reserved worst case" in row.error
    with pytest.raises(RuntimeError, match="not JSON"):
        llmgate.call_openai_chat("hi", "gpt-4o", agent_api_key=llm_key.secret)
