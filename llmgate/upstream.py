"""The one place that talks to OpenAI, with the official SDK.

One client per process and configuration, so HTTP keep-alive connections are reused (the
gate's added latency is mostly what a new TLS/TCP handshake would cost).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx2
import openai
from django.conf import settings

from .errors import GateNotConfigured, UpstreamError, UpstreamTimeout

_clients: dict[tuple[str, str, float, int], openai.OpenAI] = {}
_lock = threading.Lock()


def openai_configured() -> bool:
    return bool(getattr(settings, "OPENAI_API_KEY", ""))


def get_client() -> openai.OpenAI:
    api_key = getattr(settings, "OPENAI_API_KEY", "")
    if not api_key:
        raise GateNotConfigured(
            "The LLM gate is not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for an "
            "OpenAI-compatible server other than api.openai.com)."
        )
    config = (
        api_key,
        getattr(settings, "OPENAI_BASE_URL", "") or "",
        float(getattr(settings, "OPENAI_TIMEOUT_SECONDS", 60)),
        int(getattr(settings, "OPENAI_MAX_RETRIES", 2)),
    )
    client = _clients.get(config)
    if client is None:
        with _lock:
            client = _clients.get(config)
            if client is None:
                client = openai.OpenAI(
                    api_key=config[0],
                    base_url=config[1] or None,
                    timeout=config[2],
                    max_retries=config[3],
                )
                _clients[config] = client
    return client


def create_raw(params: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """A non-streaming chat completion: (the upstream body verbatim, its parsed JSON).

    The SDK's generic ``post`` with ``cast_to=httpx2.Response`` keeps its auth, retries,
    timeouts and error mapping but skips building typed models we would not use.
    """
    response = get_client().post("/chat/completions", body=params, cast_to=httpx2.Response)
    try:
        return response.content, response.json()
    except ValueError as exc:
        # A success status with a body that is not JSON: the provider may well have billed.
        raise UnreadableAnswer(response.status_code) from exc


class UnreadableAnswer(Exception):
    """The provider answered a success status with a body that is not JSON."""

    def __init__(self, status: int) -> None:
        super().__init__(f"upstream HTTP {status} with a body that is not JSON")
        self.status = status


def open_stream(params: dict[str, Any]) -> tuple[Any, Any]:
    """Start a streaming completion: (context manager, response). The caller must exit the
    context manager. Status errors are raised here, before any byte reaches the client."""
    body, extra = _split(params)
    manager = get_client().chat.completions.with_streaming_response.create(**body, extra_body=extra)
    return manager, manager.__enter__()


def _split(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    # model and messages are named arguments of the SDK; everything else goes through
    # extra_body verbatim, so fields the SDK does not know yet still reach the upstream.
    extra = dict(params)
    body = {"model": extra.pop("model"), "messages": extra.pop("messages")}
    return body, extra


# What OpenAI-style keys look like, masked or not ("sk-proj-****WXYZ"): a provider's error
# text may quote the key it was given, and that text reaches the client and the ledger.
_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_*.\-]{4,}")


def redact_keys(text: str) -> str:
    """``text`` without the configured OpenAI key or anything shaped like an API key."""
    api_key = getattr(settings, "OPENAI_API_KEY", "")
    if api_key and len(api_key) >= 8:
        text = text.replace(api_key, "[redacted]")
    return _KEY_LIKE.sub("[redacted key]", text)


def describe_error(exc: BaseException) -> str:
    return redact_keys(_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        message = exc.body.get("message") if isinstance(exc.body, dict) else None
        return f"upstream HTTP {exc.status_code}: {message or exc.message}"
    if isinstance(exc, openai.APITimeoutError):
        return "upstream timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"upstream connection failed: {cause or exc.message}"
    return f"{type(exc).__name__}: {exc}"


def map_error(exc: BaseException) -> UpstreamError | UpstreamTimeout:
    """An SDK exception as the gate's domain error (502, or 504 for a timeout)."""
    text = describe_error(exc)
    if isinstance(exc, openai.APITimeoutError):
        timeout = getattr(settings, "OPENAI_TIMEOUT_SECONDS", 60)
        return UpstreamTimeout(f"The LLM provider did not answer within {timeout} s.")
    extra: dict[str, Any] = {}
    if isinstance(exc, openai.APIStatusError):
        extra["upstream_status"] = exc.status_code
    return UpstreamError(f"The LLM provider failed: {text}", extra=extra)
