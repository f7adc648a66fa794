"""Worst-case estimates and exact Decimal cost arithmetic (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmgate.errors import UnsupportedContent
from llmgate.pricing import (
    MESSAGE_OVERHEAD_TOKENS,
    REPLY_PRIMING_TOKENS,
    Price,
    check_text_only,
    cost_of,
    prompt_token_bound,
    worst_case_cost,
)

SEED = {
    "gpt-4o": Price("gpt-4o", Decimal("0.03"), Decimal("0.06")),
    "gpt-4o-mini": Price("gpt-4o-mini", Decimal("0.005"), Decimal("0.01")),
    "gpt-4": Price("gpt-4", Decimal("0.03"), Decimal("0.06")),
}


@pytest.mark.parametrize(
    ("model", "prompt", "completion", "expected"),
    [
        ("gpt-4o", 0, 0, "0"),
        ("gpt-4o", 1, 0, "0.00003"),
        ("gpt-4o", 0, 1, "0.00006"),
        ("gpt-4o", 1000, 1000, "0.09"),
        ("gpt-4o", 1234, 567, "0.07104"),
        ("gpt-4o-mini", 1, 0, "0.000005"),
        ("gpt-4o-mini", 0, 1, "0.00001"),
        ("gpt-4o-mini", 1, 1, "0.000015"),
        ("gpt-4o-mini", 8, 3, "0.00007"),
        ("gpt-4o-mini", 999_999, 1, "5.000005"),
        ("gpt-4o-mini", 3, 7, "0.000085"),
        ("gpt-4", 333, 333, "0.02997"),
        ("gpt-4", 128_000, 4096, "4.08576"),
        ("gpt-4", 7, 11, "0.00087"),
    ],
)
def test_cost_is_exact_decimal(model: str, prompt: int, completion: int, expected: str) -> None:
    cost = cost_of(SEED[model], prompt, completion)
    assert isinstance(cost, Decimal)
    assert cost == Decimal(expected)


def test_many_small_costs_sum_exactly() -> None:
    # 0.1 + 0.2 style drift would show here with floats.
    one = cost_of(SEED["gpt-4o-mini"], 1, 1)
    assert sum([one] * 1_000_000, Decimal(0)) == Decimal("15")


@pytest.mark.parametrize(
    ("messages", "expected_bytes"),
    [
        ([{"role": "user", "content": "Hello"}], len("role") + len("user") + len("content") + 5),
        ([{"role": "user", "content": "héllo ✓"}], 4 + 4 + 7 + len("héllo ✓".encode())),
        (
            [{"role": "system", "content": "a"}, {"role": "user", "content": "b"}],
            (4 + 6 + 7 + 1) + (4 + 4 + 7 + 1),
        ),
    ],
)
def test_prompt_bound_is_utf8_bytes_plus_overhead(messages: list, expected_bytes: int) -> None:
    bound = prompt_token_bound(messages)
    overhead = REPLY_PRIMING_TOKENS + MESSAGE_OVERHEAD_TOKENS * len(messages)
    assert bound == expected_bytes + overhead


def test_worst_case_uses_max_tokens_times_choices() -> None:
    messages = [{"role": "user", "content": "x"}]
    prompt, completion, cost = worst_case_cost(SEED["gpt-4"], messages, 100, choices=2)
    assert completion == 200
    assert cost == cost_of(SEED["gpt-4"], prompt, 200)


def test_tools_count_towards_the_prompt_bound() -> None:
    messages = [{"role": "user", "content": "x"}]
    tools = {"tools": [{"type": "function", "function": {"name": "lookup"}}]}
    assert prompt_token_bound(messages, tools) > prompt_token_bound(messages)


def test_images_are_refused_because_they_cannot_be_bounded() -> None:
    check_text_only([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
    with pytest.raises(UnsupportedContent, match="image_url"):
        check_text_only(
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
        )
