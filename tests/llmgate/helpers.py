"""Requests and assertions shared by the LLM gate tests."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from llmgate.models import KeyDailyBudget, LLMUsage


def budget_row(api_key_id: int) -> KeyDailyBudget:
    return KeyDailyBudget.objects.get(api_key_id=api_key_id)


def assert_no_reservation(api_key_id: int) -> None:
    for row in KeyDailyBudget.objects.filter(api_key_id=api_key_id):
        assert row.reserved == Decimal(0), f"reservation left behind on {row.day}: {row.reserved}"


def last_usage(api_key_id: int) -> LLMUsage:
    return LLMUsage.objects.filter(api_key_id=api_key_id).latest("id")


def assert_charged_worst_case(api_key_id: int) -> LLMUsage:
    """The last call was charged its whole reservation, and nothing is left reserved."""
    row = last_usage(api_key_id)
    assert row.cost == row.estimated_cost > 0
    assert_no_reservation(api_key_id)
    assert budget_row(api_key_id).spent == row.cost
    return row


def post_json(client: Any, path: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def post_v1(client: Any, body: dict[str, Any], secret: str | None = None) -> Any:
    """POST /v1/chat/completions, with the key as a bearer token when given."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    return post_json(client, "/v1/chat/completions", body, **headers)
