"""The seed's ``call_openai_chat`` for agents, over the T4 gate's ``POST /llm/chat``.

The agent never holds an OpenAI key: the gate prices the call, enforces the key's daily budget
and records the usage against the key's agent.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from t4client import _http


def call_openai_chat(
    prompt: str,
    model: str,
    agent_api_key: str | None = None,
    agent_id: str | None = None,
    max_completion_tokens: int = 1024,
) -> dict[str, Any]:
    """Return ``{"text", "prompt_tokens", "completion_tokens", "cost", ...}``.

    ``cost`` is a ``Decimal``. Raises ``PermissionError`` when the gate refuses the call
    (402 over budget, 401/403 bad key or missing scope) and a ``T4APIError`` (a RuntimeError)
    for any other failure. ``agent_id`` is informational only: the server takes the agent from
    the key, never from the caller.
    """
    key = _http.api_key(agent_api_key)
    body = {"prompt": prompt, "model": model, "max_tokens": int(max_completion_tokens)}
    try:
        _, answer = _http.request_json("POST", "/llm/chat", body=body, key=key, timeout=300)
    except _http.T4APIError as exc:
        if exc.status in (401, 402, 403):
            who = f" for agent {agent_id}" if agent_id else ""
            raise PermissionError(f"LLM call refused{who}: {exc}") from exc
        raise
    if not isinstance(answer, dict) or "text" not in answer:
        raise _http.T4APIUnavailable("POST /llm/chat answered an unexpected body")
    result = dict(answer)
    try:
        result["cost"] = Decimal(str(answer.get("cost", "0")))
    except InvalidOperation as exc:
        raise _http.T4APIUnavailable(
            f"POST /llm/chat: unreadable cost {answer.get('cost')!r}"
        ) from exc
    result.setdefault("prompt_tokens", 0)
    result.setdefault("completion_tokens", 0)
    return result
