"""Worst-case estimates and exact Decimal costs. Pure functions, no database access."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import UnsupportedContent

# A BPE token always covers at least one byte, so a text's UTF-8 length bounds its tokens.
# Chat formatting adds a few tokens per message (role, separators, name) and a few to prime
# the reply; these constants over-approximate OpenAI's published figures (3-4 and 3).
MESSAGE_OVERHEAD_TOKENS = 8
REPLY_PRIMING_TOKENS = 4
THOUSAND = Decimal(1000)

# Content parts whose token count is bounded by their text. Images, audio and files are
# billed by size or duration, which the gate cannot bound from the request, so they are
# refused rather than under-reserved.
TEXT_PART_TYPES = frozenset({"text", "refusal"})


@dataclass(frozen=True)
class Price:
    model: str
    prompt_per_1k: Decimal
    completion_per_1k: Decimal


def utf8_size(value: Any) -> int:
    """UTF-8 bytes of every string, key and scalar in a JSON-like value."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, Mapping):
        return sum(utf8_size(k) + utf8_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(utf8_size(item) for item in value)
    return len(str(value).encode("utf-8"))


def check_text_only(messages: Iterable[Mapping[str, Any]]) -> None:
    for index, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                kind = part.get("type") if isinstance(part, Mapping) else None
                if kind not in TEXT_PART_TYPES:
                    raise UnsupportedContent(
                        f"messages[{index}]: content part type {kind!r} is not supported by "
                        "the gate (its cost cannot be bounded before the call); send text."
                    )


def prompt_token_bound(messages: Iterable[Mapping[str, Any]], extra: Any = None) -> int:
    """Upper bound of the prompt tokens: UTF-8 bytes of the messages plus their overhead.

    ``extra`` is anything else the model reads (tools, response_format, ...).
    """
    total = REPLY_PRIMING_TOKENS + utf8_size(extra)
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS + utf8_size(message)
    return total


def cost_of(price: Price, prompt_tokens: int, completion_tokens: int) -> Decimal:
    """Exact USD cost. Division by 1000 only shifts the exponent, so nothing is rounded."""
    return (
        Decimal(prompt_tokens) * price.prompt_per_1k
        + Decimal(completion_tokens) * price.completion_per_1k
    ) / THOUSAND


def worst_case_cost(
    price: Price,
    messages: Iterable[Mapping[str, Any]],
    max_tokens: int,
    *,
    choices: int = 1,
    extra: Any = None,
) -> tuple[int, int, Decimal]:
    """(prompt bound, completion bound, cost bound) of one call."""
    prompt = prompt_token_bound(messages, extra)
    completion = max_tokens * choices
    return prompt, completion, cost_of(price, prompt, completion)
