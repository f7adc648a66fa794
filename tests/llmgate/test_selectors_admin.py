"""Budget snapshots for other apps, and the admin pages."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import openai
import pytest
from auditlog.models import LogEntry

import llmgate
from llmgate.models import KeyDailyBudget, LLMUsage, ModelPrice
from llmgate.selectors import budgets_today, key_budget_today, utc_today

pytestmark = pytest.mark.django_db


def test_key_budget_today(fake_openai: Any, llm_key: Any) -> None:
    snapshot = key_budget_today(api_key=llm_key.api_key)
    assert tuple(snapshot) == (0, 0, Decimal("10.00"))
    result = llmgate.call_openai_chat("hi", "gpt-4o", agent_api_key=llm_key.secret)
    spent, reserved, remaining = key_budget_today(api_key=llm_key.api_key)
    assert (spent, reserved) == (result["cost"], 0)
    assert remaining == Decimal("10.00") - result["cost"]


def test_budgets_today_is_one_query(
    fake_openai: Any, make_key: Any, django_assert_num_queries: Any
) -> None:
    keys = [make_key(f"a{i}", daily_limit=Decimal("5.00")) for i in range(3)]
    llmgate.call_openai_chat("hi", "gpt-4o-mini", agent_api_key=keys[0].secret)
    KeyDailyBudget.objects.filter(api_key=keys[0].api_key).update(reserved=Decimal("1"))
    with django_assert_num_queries(1):
        snapshots = budgets_today(key_ids=[k.api_key.pk for k in keys])
    first = snapshots[keys[0].api_key.pk]
    assert first.reserved == 1
    assert first.remaining == Decimal("4.00") - first.spent
    assert first.calls == 1
    assert snapshots[keys[1].api_key.pk].remaining == Decimal("5.00")
    assert budgets_today(key_ids=[]) == {}


def test_remaining_never_negative(llm_key: Any) -> None:
    KeyDailyBudget.objects.create(api_key=llm_key.api_key, day=utc_today(), spent=Decimal("12"))
    assert key_budget_today(api_key=llm_key.api_key).remaining == 0


def test_seeded_prices() -> None:
    prices = {p.model: (p.prompt_per_1k, p.completion_per_1k) for p in ModelPrice.objects.all()}
    assert prices == {
        "gpt-4o": (Decimal("0.03"), Decimal("0.06")),
        "gpt-4o-mini": (Decimal("0.005"), Decimal("0.01")),
        "gpt-4": (Decimal("0.03"), Decimal("0.06")),
    }


def test_price_changes_are_audited(admin_client: Any) -> None:
    price = ModelPrice.objects.get(model="gpt-4o")
    response = admin_client.post(
        f"/admin/llmgate/modelprice/{price.pk}/change/",
        {"model": "gpt-4o", "prompt_per_1k": "0.0025", "completion_per_1k": "0.01", "active": "on"},
    )
    assert response.status_code == 302
    price.refresh_from_db()
    assert price.prompt_per_1k == Decimal("0.0025")
    entry = LogEntry.objects.get_for_object(price).latest("timestamp")
    assert "prompt_per_1k" in entry.changes_dict


def test_usage_admin_is_read_only_with_totals(
    fake_openai: Any, llm_key: Any, admin_client: Any
) -> None:
    for prompt in ["one", "two", "x #status=500"]:
        # The failing call raises; its error row is what this test needs.
        with contextlib.suppress(openai.APIError):
            llmgate.call_openai_chat(prompt, "gpt-4o-mini", agent_api_key=llm_key.secret)
    total = sum(row.cost for row in LLMUsage.objects.all())
    response = admin_client.get("/admin/llmgate/llmusage/?status__exact=ok")
    assert response.status_code == 200
    totals = response.context["llm_totals"]
    assert (totals["calls"], totals["ok"], totals["cost"]) == (2, 2, total)
    assert b"Totals for this selection" in response.content
    assert admin_client.get("/admin/llmgate/llmusage/add/").status_code == 403
    row = LLMUsage.objects.first()
    page = admin_client.get(f"/admin/llmgate/llmusage/{row.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    for path in [
        f"/admin/llmgate/llmusage/?agent_id={llm_key.api_key.agent_id}",
        f"/admin/llmgate/llmusage/?api_key__id__exact={llm_key.api_key.pk}",
        "/admin/llmgate/llmusage/?model=gpt-4o-mini",
        f"/admin/llmgate/llmusage/?day={utc_today().isoformat()}",
        "/admin/llmgate/keydailybudget/",
    ]:
        assert admin_client.get(path).status_code == 200, path


def test_price_cache_serves_and_expires(settings: Any, django_assert_num_queries: Any) -> None:
    from llmgate.selectors import price_get

    settings.LLM_GATE_PRICE_CACHE_SECONDS = 60
    first = price_get(model="gpt-4o")
    with django_assert_num_queries(0):
        assert price_get(model="gpt-4o") == first
    # An edit through the ORM (the admin) clears this process's copy at once.
    price = ModelPrice.objects.get(model="gpt-4o")
    price.prompt_per_1k = Decimal("0.02")
    price.save()
    assert price_get(model="gpt-4o").prompt_per_1k == Decimal("0.02")
    settings.LLM_GATE_PRICE_CACHE_SECONDS = 0
    ModelPrice.objects.filter(model="gpt-4o").update(prompt_per_1k=Decimal("0.01"))
    assert price_get(model="gpt-4o").prompt_per_1k == Decimal("0.01")
