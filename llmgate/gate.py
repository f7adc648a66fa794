"""One LLM call through the gate: reserve, call OpenAI outside any transaction, settle.

Used by the Python API (``llmgate.call_openai_chat``), ``POST /llm/chat`` and the
OpenAI-compatible ``POST /v1/chat/completions`` (plain and streaming).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from django.conf import settings

from apikeys.models import APIKey
from t4site.db import MAX_INT_COLUMN

from . import upstream
from .errors import UpstreamError
from .models import LLMUsage, UsageStatus
from .pricing import check_text_only, cost_of, prompt_token_bound
from .selectors import price_get, utc_today
from .services import Reservation, budget_reserve, llm_call_settle

logger = logging.getLogger(__name__)

NO_USAGE_NOTE = "upstream reported no usage; charged the reserved worst case"
# The most tokens one call may ask for (HTTP and Python API alike); it also bounds every
# worst-case estimate the budget columns must hold.
MAX_TOKENS_CAP = 1_000_000


def default_max_tokens() -> int:
    return int(getattr(settings, "LLM_GATE_DEFAULT_MAX_TOKENS", 1024))


@dataclass
class ChatParams:
    """A chat request as the gate sees it. ``passthrough`` holds every other OpenAI field."""

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int
    max_tokens_field: str = "max_completion_tokens"
    choices: int = 1
    stream: bool = False
    client_wants_usage: bool = False
    passthrough: dict[str, Any] = field(default_factory=dict)

    def upstream_params(self) -> dict[str, Any]:
        params = dict(self.passthrough)
        params["model"] = self.model
        params["messages"] = self.messages
        # The bound the reservation assumed is always sent, so the provider cannot exceed it.
        params[self.max_tokens_field] = self.max_tokens
        if self.choices != 1:
            params["n"] = self.choices
        if self.stream:
            params["stream"] = True
            options = dict(params.get("stream_options") or {})
            options["include_usage"] = True  # settle from the provider's own count
            params["stream_options"] = options
        return params


@dataclass(frozen=True)
class Completion:
    body: bytes
    data: dict[str, Any]
    usage: LLMUsage

    @property
    def text(self) -> str:
        try:
            return self.data["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""


def reserve(*, api_key: APIKey, params: ChatParams) -> Reservation:
    """Validate, price and reserve; raises a DomainError (400/402/503) on refusal."""
    check_text_only(params.messages)
    price = price_get(model=params.model)
    upstream.get_client()  # refuse before reserving when OPENAI_API_KEY is missing
    prompt_bound = prompt_token_bound(params.messages, extra=params.passthrough or None)
    return budget_reserve(
        api_key=api_key,
        day=utc_today(),
        price=price,
        prompt_bound=prompt_bound,
        completion_bound=params.max_tokens * params.choices,
        streamed=params.stream,
    )


def _usage_numbers(usage: Any) -> tuple[int, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not (isinstance(prompt, int) and isinstance(completion, int)):
        return None
    if isinstance(prompt, bool) or isinstance(completion, bool):
        return None
    # More than the ledger's integer columns hold is not believed: settled at the reserved
    # worst case, like missing usage.
    if not (0 <= prompt <= MAX_INT_COLUMN and 0 <= completion <= MAX_INT_COLUMN):
        return None
    return prompt, completion


def _settle_from_usage(reservation: Reservation, usage: Any, *, upstream_id: str = "") -> LLMUsage:
    numbers = _usage_numbers(usage)
    if numbers is None:
        return llm_call_settle(
            reservation=reservation,
            status=UsageStatus.OK,
            cost=reservation.estimate,
            error=NO_USAGE_NOTE,
            upstream_id=upstream_id,
        )
    prompt, completion = numbers
    return llm_call_settle(
        reservation=reservation,
        status=UsageStatus.OK,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost=cost_of(reservation.price, prompt, completion),
        upstream_id=upstream_id,
    )


def _release_and_raise(reservation: Reservation, exc: BaseException) -> NoReturn:
    """The upstream call failed before any usage: record the error, release the budget and
    raise the mapped domain error (502/504) — or re-raise an interrupt as it is."""
    llm_call_settle(
        reservation=reservation, status=UsageStatus.ERROR, error=upstream.describe_error(exc)
    )
    if isinstance(exc, Exception):
        raise upstream.map_error(exc) from exc
    raise exc


def chat_complete(*, api_key: APIKey, params: ChatParams) -> Completion:
    """A non-streaming call. Upstream failures release the budget, are recorded, and raise
    UpstreamError/UpstreamTimeout with the SDK exception as ``__cause__``."""
    reservation = reserve(api_key=api_key, params=params)
    try:
        body, data = upstream.create_raw(params.upstream_params())
    except upstream.UnreadableAnswer as exc:
        # Answered, so probably billed, but with no usage to read: the worst case, as for a
        # cut stream.
        llm_call_settle(
            reservation=reservation,
            status=UsageStatus.ERROR,
            cost=reservation.estimate,
            error=f"{exc}; charged the reserved worst case",
        )
        raise UpstreamError(f"The LLM provider failed: {exc}.") from None
    except BaseException as exc:
        _release_and_raise(reservation, exc)
    upstream_id = str(data.get("id") or "") if isinstance(data, dict) else ""
    usage = _settle_from_usage(
        reservation, data.get("usage") if isinstance(data, dict) else None, upstream_id=upstream_id
    )
    return Completion(body=body, data=data if isinstance(data, dict) else {}, usage=usage)


def chat_stream(*, api_key: APIKey, params: ChatParams) -> CompletionStream:
    """Start a streaming call; errors before the first byte raise like ``chat_complete``."""
    reservation = reserve(api_key=api_key, params=params)
    try:
        manager, response = upstream.open_stream(params.upstream_params())
    except BaseException as exc:
        _release_and_raise(reservation, exc)
    return CompletionStream(
        reservation=reservation,
        manager=manager,
        response=response,
        forward_usage=params.client_wants_usage,
    )


class CompletionStream:
    """Forwards the upstream's server-sent events and settles exactly once, on close.

    Complete stream with usage → its cost. Complete without usage → the worst case (ok).
    Anything else — upstream cut, read timeout, client gone — is an error row charged at the
    reserved worst case: the provider may have billed every token generated so far.
    """

    def __init__(
        self, *, reservation: Reservation, manager: Any, response: Any, forward_usage: bool
    ) -> None:
        self.reservation = reservation
        self._manager = manager
        self._response = response
        self._forward_usage = forward_usage
        self._usage: Any = None
        self._upstream_id = ""
        self._done = False
        self._failure = ""
        self._closed = False
        self.usage_row: LLMUsage | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            lines: list[str] = []
            for line in self._response.iter_lines():
                if line:
                    lines.append(line)
                    continue
                if lines:
                    event = self._event(lines)
                    lines = []
                    if self._done:
                        # Settle before the client sees the end: once it has [DONE], the
                        # ledger and the budget already show the call.
                        self.close()
                        yield event or b""
                        return
                    if event is not None:
                        yield event
            if lines:
                event = self._event(lines)
                if event is not None:
                    yield event
            if not self._done:
                self._failure = "upstream stream ended before [DONE]"
        except Exception as exc:
            self._failure = "stream interrupted: " + upstream.describe_error(exc)
            logger.warning("llm stream %s cut: %s", self.reservation.request_id, self._failure)
        if self._failure:
            self.close()
            error = {
                "error": {
                    "message": f"The LLM provider's stream broke off: {self._failure}",
                    "type": "upstream_error",
                    "code": "upstream_stream_cut",
                }
            }
            yield f"data: {json.dumps(error)}\n\n".encode()
        else:
            self.close()

    def _event(self, lines: list[str]) -> bytes | None:
        data = "".join(line[5:].lstrip(" ") if line.startswith("data:") else "" for line in lines)
        if data.startswith("[DONE]"):
            self._done = True
        elif '"usage"' in data:
            try:
                chunk = json.loads(data)
            except ValueError:
                chunk = None
            if isinstance(chunk, dict) and chunk.get("usage"):
                self._usage = chunk["usage"]
                self._upstream_id = str(chunk.get("id") or "")
                if not self._forward_usage and not chunk.get("choices"):
                    return None  # the client did not ask for the usage chunk
        return ("\n".join(lines) + "\n\n").encode()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._manager.__exit__(None, None, None)
        except Exception:  # closing a broken connection may fail; nothing to do
            logger.debug("closing upstream stream failed", exc_info=True)
        reservation = self.reservation
        if self._done and not self._failure:
            self.usage_row = _settle_from_usage(
                reservation, self._usage, upstream_id=self._upstream_id
            )
            return
        numbers = _usage_numbers(self._usage)
        prompt, completion = numbers or (0, 0)
        self.usage_row = llm_call_settle(
            reservation=reservation,
            status=UsageStatus.ERROR,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=reservation.estimate,
            error=self._failure or "client disconnected before the end of the stream",
            upstream_id=self._upstream_id,
        )
