"""llmgate.call_openai_chat against the fake OpenAI server."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

import openai
import pytest

import llmgate
from apikeys.services import IssuedKey, apikey_revoke
from audit.actor import Actor
from llmgate.models import KeyDailyBudget, LLMUsage, ModelPrice, UsageStatus
from llmgate.pricing import Price, cost_of
from llmgate.selectors import utc_today
from llmgate.services import budget_reserve, llm_call_settle

from .helpers import assert_no_reservation, budget_row, last_usage

pytestmark = pytest.mark.django_db


def test_package_import_does_not_load_models() -> None:
    import subprocess
    import sys

    code = (
        "import sys, llmgate; "
        "assert 'llmgate.models' not in sys.modules; "
        "assert 'django.db.models' not in sys.modules; "
        "print('lazy')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lazy"


def test_seed_example_runs_as_written(
    fake_openai: Any, make_key: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    issued = make_key("my-agent")
    monkeypatch.setenv("T4_API_KEY", issued.secret)
    # --- the seed's example, with only the import path changed ---
    from llmgate import call_openai_chat

    result = call_openai_chat(
        prompt="Explain this function",
        model="gpt-4o-mini",
        agent_api_key=os.environ["T4_API_KEY"],
        agent_id="my-agent",
    )

    print(result["text"])  # LLM response
    print(f"Tokens: {result['prompt_tokens']} prompt + {result['completion_tokens']} completion")
    print(f"Cost: ${result['cost']:.4f}")
    # --- end of the example ---
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Echo: Explain this function"
    # The fake counts words + 3 per message + 3; the reply has 4 words.
    assert out[1] == "Tokens: 9 prompt + 4 completion"
    assert out[2] == "Cost: $0.0001"
    assert result["cost"] == Decimal("0.000085")  # 9 x 0.005/1K + 4 x 0.01/1K, exact
    row = last_usage(issued.api_key.pk)
    assert (row.status, row.agent_id, row.model) == ("ok", "my-agent", "gpt-4o-mini")
    assert (row.prompt_tokens, row.completion_tokens, row.cost) == (9, 4, Decimal("0.000085"))
    assert row.estimated_cost > row.cost
    budget = budget_row(issued.api_key.pk)
    assert budget.spent == Decimal("0.000085")
    assert budget.reserved == 0
    assert budget.calls == 1


def test_sends_the_bound_and_only_the_gate_credentials(fake_openai: Any, llm_key: Any) -> None:
    llmgate.call_openai_chat("hi", "gpt-4o", agent_api_key=llm_key.secret, max_completion_tokens=77)
    sent = fake_openai.config.requests[-1]
    assert sent["max_completion_tokens"] == 77
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["model"] == "gpt-4o"


def test_messages_and_prompt_are_combined(fake_openai: Any, llm_key: Any) -> None:
    result = llmgate.call_openai_chat(
        "second",
        "gpt-4",
        agent_api_key=llm_key.secret,
        messages=[{"role": "system", "content": "be brief"}],
    )
    assert fake_openai.config.requests[-1]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "second"},
    ]
    assert result["text"] == "Echo: second"


def test_agent_is_taken_from_the_key_not_the_caller(fake_openai: Any, llm_key: Any) -> None:
    llmgate.call_openai_chat(
        "hi", "gpt-4o-mini", agent_api_key=llm_key.secret, agent_id="someone-else"
    )
    assert last_usage(llm_key.api_key.pk).agent_id == "agent-llm"


@pytest.mark.parametrize("secret", ["", "t4_nope_nope", "not-a-key"])
def test_unknown_key_is_refused(fake_openai: Any, secret: str) -> None:
    with pytest.raises(PermissionError):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=secret)
    assert not LLMUsage.objects.exists()


def test_revoked_key_is_refused(fake_openai: Any, llm_key: IssuedKey) -> None:
    apikey_revoke(api_key=llm_key.api_key, actor=Actor.system("tests"))
    with pytest.raises(PermissionError, match="revoked"):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=llm_key.secret)
    assert fake_openai.config.requests == []


def test_expired_key_is_refused(fake_openai: Any, llm_key: IssuedKey) -> None:
    from django.utils import timezone

    llm_key.api_key.expires_at = timezone.now() - timedelta(seconds=1)
    llm_key.api_key.save(update_fields=["expires_at"])
    with pytest.raises(PermissionError, match="expired"):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=llm_key.secret)


def test_key_without_llm_scope_is_refused(fake_openai: Any, make_key: Any) -> None:
    issued = make_key("reader", scopes=["intents:read"])
    with pytest.raises(PermissionError, match="llm:call"):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=issued.secret)


def test_missing_openai_key_is_a_runtime_error(
    fake_openai: Any, llm_key: IssuedKey, settings: Any
) -> None:
    settings.OPENAI_API_KEY = ""
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=llm_key.secret)
    assert not KeyDailyBudget.objects.filter(reserved__gt=0).exists()


def test_unpriced_model_is_refused_listing_priced_ones(
    fake_openai: Any, llm_key: IssuedKey
) -> None:
    with pytest.raises(ValueError, match=r"gpt-4, gpt-4o, gpt-4o-mini"):
        llmgate.call_openai_chat("hi", "gpt-5-turbo", agent_api_key=llm_key.secret)
    ModelPrice.objects.filter(model="gpt-4").update(active=False)
    with pytest.raises(ValueError, match="Priced models: gpt-4o, gpt-4o-mini"):
        llmgate.call_openai_chat("hi", "gpt-4", agent_api_key=llm_key.secret)
    assert fake_openai.config.requests == []


def test_over_budget_is_a_permission_error_and_recorded(fake_openai: Any, make_key: Any) -> None:
    # gpt-4 worst case of 1024 completion tokens alone is $0.06144 > $0.05.
    issued = make_key("poor", daily_limit=Decimal("0.05"))
    with pytest.raises(PermissionError, match="budget"):
        llmgate.call_openai_chat("hi", "gpt-4", agent_api_key=issued.secret)
    assert fake_openai.config.requests == []
    row = last_usage(issued.api_key.pk)
    assert row.status == UsageStatus.REFUSED
    assert row.cost == 0
    budget = budget_row(issued.api_key.pk)
    assert (budget.refusals, budget.calls, budget.reserved, budget.spent) == (1, 0, 0, 0)
    # A smaller worst case still fits.
    llmgate.call_openai_chat("hi", "gpt-4", agent_api_key=issued.secret, max_completion_tokens=100)


def test_zero_limit_refuses_everything(fake_openai: Any, make_key: Any) -> None:
    issued = make_key("frozen", daily_limit=Decimal("0"))
    with pytest.raises(PermissionError):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=issued.secret)


@pytest.mark.parametrize(
    ("directive", "exception"),
    [
        ("#status=500", openai.InternalServerError),
        ("#status=503", openai.InternalServerError),
        ("#status=429", openai.RateLimitError),
        ("#status=400", openai.BadRequestError),
    ],
)
def test_upstream_errors_release_the_budget_and_record_an_error(
    fake_openai: Any, llm_key: IssuedKey, directive: str, exception: type
) -> None:
    with pytest.raises(exception):
        llmgate.call_openai_chat(f"hi {directive}", "gpt-4o-mini", agent_api_key=llm_key.secret)
    assert_no_reservation(llm_key.api_key.pk)
    row = last_usage(llm_key.api_key.pk)
    assert row.status == UsageStatus.ERROR
    assert row.cost == 0
    assert "Fake upstream failure" in row.error
    assert budget_row(llm_key.api_key.pk).spent == 0


def test_timeout_releases_the_budget(fake_openai: Any, llm_key: IssuedKey, settings: Any) -> None:
    settings.OPENAI_TIMEOUT_SECONDS = 0.3
    with pytest.raises(openai.APITimeoutError):
        llmgate.call_openai_chat("slow #sleep=1", "gpt-4o-mini", agent_api_key=llm_key.secret)
    assert_no_reservation(llm_key.api_key.pk)
    row = last_usage(llm_key.api_key.pk)
    assert (row.status, row.cost) == (UsageStatus.ERROR, 0)
    assert "timed out" in row.error


def test_unreachable_upstream_releases_the_budget(
    fake_openai: Any, llm_key: IssuedKey, settings: Any
) -> None:
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    with pytest.raises(openai.APIConnectionError):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=llm_key.secret)
    assert_no_reservation(llm_key.api_key.pk)
    assert last_usage(llm_key.api_key.pk).status == UsageStatus.ERROR


def test_missing_usage_is_charged_at_the_worst_case(fake_openai: Any, llm_key: IssuedKey) -> None:
    result = llmgate.call_openai_chat("hi #nousage", "gpt-4o-mini", agent_api_key=llm_key.secret)
    row = last_usage(llm_key.api_key.pk)
    assert row.status == UsageStatus.OK
    assert row.cost == row.estimated_cost == result["cost"]
    assert "no usage" in row.error
    assert_no_reservation(llm_key.api_key.pk)


def test_yesterdays_spend_does_not_count_today(fake_openai: Any, make_key: Any) -> None:
    issued = make_key("daily", daily_limit=Decimal("1.00"))
    yesterday = utc_today() - timedelta(days=1)
    # Spent to the limit yesterday, and no midnight job ran.
    KeyDailyBudget.objects.create(api_key=issued.api_key, day=yesterday, spent=Decimal("1.00"))
    llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=issued.secret)
    today = KeyDailyBudget.objects.get(api_key=issued.api_key, day=utc_today())
    assert today.spent > 0
    assert KeyDailyBudget.objects.get(day=yesterday).spent == Decimal("1.00")


def test_settling_after_midnight_charges_the_reservation_day(make_key: Any) -> None:
    issued = make_key("night", daily_limit=Decimal("1.00"))
    yesterday = utc_today() - timedelta(days=1)
    price = Price("gpt-4", Decimal("0.03"), Decimal("0.06"))
    reservation = budget_reserve(
        api_key=issued.api_key, day=yesterday, price=price, prompt_bound=100, completion_bound=100
    )
    assert KeyDailyBudget.objects.get(day=yesterday).reserved == reservation.estimate
    llm_call_settle(
        reservation=reservation,
        status=UsageStatus.OK,
        prompt_tokens=10,
        completion_tokens=10,
        cost=cost_of(price, 10, 10),
    )
    row = KeyDailyBudget.objects.get(day=yesterday)
    assert (row.reserved, row.spent) == (0, Decimal("0.0009"))
    assert not KeyDailyBudget.objects.filter(day=utc_today()).exists()


def test_limit_is_read_at_reservation_time(fake_openai: Any, llm_key: IssuedKey) -> None:
    llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=llm_key.secret)
    type(llm_key.api_key).objects.filter(pk=llm_key.api_key.pk).update(daily_limit=Decimal("0"))
    with pytest.raises(PermissionError):
        llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=llm_key.secret)


def test_exact_fit_is_allowed(fake_openai: Any, make_key: Any) -> None:
    from llmgate.pricing import prompt_token_bound

    prompt = "x" * 473
    bound = prompt_token_bound([{"role": "user", "content": prompt}])
    assert bound == 500
    # 500 x 0.03/1K + 1000 x 0.06/1K = 0.075; two calls fill a $0.15 limit exactly.
    fake_openai.config.usage = (bound, 1000)  # the upstream bills the full worst case
    issued = make_key("exact", daily_limit=Decimal("0.15"))
    for _ in range(2):
        result = llmgate.call_openai_chat(
            prompt, "gpt-4", agent_api_key=issued.secret, max_completion_tokens=1000
        )
        assert result["cost"] == Decimal("0.075")
    with pytest.raises(PermissionError):
        llmgate.call_openai_chat(
            prompt, "gpt-4", agent_api_key=issued.secret, max_completion_tokens=1000
        )
    budget = budget_row(issued.api_key.pk)
    assert (budget.spent, budget.reserved, budget.calls, budget.refusals) == (
        Decimal("0.15"),
        0,
        2,
        1,
    )
