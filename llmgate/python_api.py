"""``llmgate.call_openai_chat``: the seed's Python call, backed by the gate."""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from typing import Any

logger = logging.getLogger(__name__)


def _ensure_django() -> None:
    # Lets a plain script (the seed's example) call the gate without Django boilerplate.
    from django.apps import apps

    if not apps.ready:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "t4site.settings")
        django.setup()


def call_openai_chat(
    prompt: str | None,
    model: str,
    agent_api_key: str | None = None,
    agent_id: str | None = None,
    max_completion_tokens: int = 1024,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Call an OpenAI chat model through the gate.

    Returns ``{"text", "prompt_tokens", "completion_tokens", "cost"}`` (cost a Decimal, USD).
    Raises PermissionError when the key is missing, unknown, revoked, expired, lacks
    ``llm:call`` or today's budget cannot cover the worst case; ValueError for an unpriced
    model or bad input; RuntimeError when OPENAI_API_KEY is not configured. Provider
    failures re-raise the ``openai`` SDK's exception after the budget is released.

    ``agent_id`` is accepted for compatibility: the ledger records the key's agent, never
    the caller's claim (a mismatch is logged).
    """
    _ensure_django()
    from apikeys.models import KeyStatus, Scope
    from apikeys.selectors import apikey_get_by_secret
    from t4site.errors import DomainError, ServiceUnavailable

    from .errors import BudgetExceeded, UpstreamError, UpstreamTimeout
    from .gate import MAX_TOKENS_CAP, ChatParams, chat_complete

    if not agent_api_key:
        raise PermissionError("agent_api_key is required (the agent's T4 API key).")
    api_key = apikey_get_by_secret(raw=agent_api_key.strip())
    if api_key is None:
        raise PermissionError("Unknown T4 API key.")
    status = api_key.status
    if status == KeyStatus.REVOKED:
        raise PermissionError("This T4 API key has been revoked.")
    if status == KeyStatus.EXPIRED:
        raise PermissionError("This T4 API key has expired.")
    if not api_key.has_scope(Scope.LLM_CALL):
        raise PermissionError(f"This T4 API key lacks the '{Scope.LLM_CALL}' scope.")
    if agent_id is not None and agent_id != api_key.agent_id:
        logger.warning(
            "call_openai_chat: agent_id %r differs from the key's agent %r; the key's is recorded",
            agent_id,
            api_key.agent_id,
        )
    if messages is None:
        if prompt is None:
            raise ValueError("Pass a prompt or messages.")
        messages = [{"role": "user", "content": prompt}]
    elif prompt is not None:
        messages = [*messages, {"role": "user", "content": prompt}]
    if (
        not isinstance(max_completion_tokens, int)
        or isinstance(max_completion_tokens, bool)
        or not 1 <= max_completion_tokens <= MAX_TOKENS_CAP
    ):
        raise ValueError(f"max_completion_tokens must be an integer from 1 to {MAX_TOKENS_CAP:,}.")

    params = ChatParams(model=model, messages=messages, max_tokens=max_completion_tokens)
    try:
        completion = chat_complete(api_key=api_key, params=params)
    except BudgetExceeded as exc:
        raise PermissionError(exc.detail) from exc
    except ServiceUnavailable as exc:
        raise RuntimeError(exc.detail) from exc
    except (UpstreamError, UpstreamTimeout) as exc:
        if exc.__cause__ is not None:
            raise exc.__cause__ from None
        raise RuntimeError(exc.detail) from exc
    except DomainError as exc:
        raise ValueError(exc.detail) from exc
    usage = completion.usage
    return {
        "text": completion.text,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost": Decimal(usage.cost),
    }
