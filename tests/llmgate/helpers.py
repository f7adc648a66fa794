"""Assertions shared by the LLM gate tests."""

from __future__ import annotations

from decimal import Decimal

from llmgate.models import KeyDailyBudget, LLMUsage


def budget_row(api_key_id: int) -> KeyDailyBudget:
    return KeyDailyBudget.objects.get(api_key_id=api_key_id)


def assert_no_reservation(api_key_id: int) -> None:
    for row in KeyDailyBudget.objects.filter(api_key_id=api_key_id):
        assert row.reserved == Decimal(0), f"reservation left behind on {row.day}: {row.reserved}"


def last_usage(api_key_id: int) -> LLMUsage:
    return LLMUsage.objects.filter(api_key_id=api_key_id).latest("id")
