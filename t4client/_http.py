"""A tiny JSON-over-HTTP client for the T4 API (standard library only).

Configuration is read at call time, never at import time, so an agent can change
``T4_INTENT_API`` / ``T4_API_KEY`` between calls (and tests can point at a fake server).
"""

from __future__ import annotations

import functools
import os

from t4client.errors import T4APIError, T4APIUnavailable, T4ConfigError, T4Error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_API = "http://127.0.0.1:8001"
DEFAULT_TIMEOUT = 15.0

__all__ = [
    "T4APIError",
    "T4APIUnavailable",
    "T4ConfigError",
    "T4Error",
    "api_base",
    "api_key",
    "build_url",
    "request_json",
]


def api_base() -> str:
    return (os.environ.get("T4_INTENT_API") or DEFAULT_API).rstrip("/")


def api_key(explicit: str | None = None) -> str:
    key = explicit or os.environ.get("T4_API_KEY") or ""
    if not key:
        raise T4ConfigError("no API key: set T4_API_KEY (or pass the key explicitly)")
    return key


def build_url(path: str, params: dict[str, Any] | None = None) -> str:
    base = api_base()
    url = path if path.startswith(("http://", "https://")) else base + "/" + path.lstrip("/")
    if params:
        import urllib.parse

        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url += ("&" if "?" in url else "?") + query
    return url


@functools.cache
def _opener() -> Any:
    """urllib's opener, except that a redirect to another origin is not followed: urllib
    would send it the request's headers, the API key among them."""
    import urllib.parse
    import urllib.request

    class SameOriginRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
            if (old.scheme, old.netloc) != (new.scheme, new.netloc):
                return None  # urllib then raises the 3xx as an HTTPError
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(SameOriginRedirects)


def _error_fields(raw: bytes) -> tuple[str, str]:
    import json

    try:
        body = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return "", raw.decode("utf-8", "replace")[:300].strip()
    if isinstance(body, dict):
        return str(body.get("error") or ""), str(body.get("detail") or "")
    return "", str(body)[:300]


def request_json(
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
    key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[int, Any]:
    """Send one request; return ``(status, decoded JSON)`` for a 2xx answer.

    Raises ``T4APIUnavailable`` when the server cannot be reached, answers 5xx or answers
    something that is not JSON, and ``T4APIError`` for any other non-2xx status.
    """
    # Imported here: the validator without a registry never pays for urllib.request (nor
    # for json: see t4client.jsonfast).
    import http.client
    import json
    import urllib.error
    import urllib.request

    url = build_url(path, params)
    if not url.startswith(("http://", "https://")):
        raise T4ConfigError(f"T4_INTENT_API must be an http(s) URL, got {api_base()!r}")
    data = None
    headers = {"Accept": "application/json", "User-Agent": "t4client"}
    if body is not None:
        data = json.dumps(body, default=str).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if key:
        if not key.isascii() or not key.isprintable() or key != key.strip():
            # Never echo it: the header would be refused with the key in the message.
            raise T4ConfigError(
                "the T4 API key holds whitespace or characters a header cannot carry "
                "(check T4_API_KEY for a stray newline)"
            )
        headers["X-T4-API-KEY"] = key
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with _opener().open(req, timeout=timeout) as resp:
            status = resp.status
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        raw = exc.read() if exc.fp is not None else b""
        error, detail = _error_fields(raw)
        text = f"{method} {url} → HTTP {exc.code}"
        if error or detail:
            text += f" ({error or 'error'}: {detail})" if detail else f" ({error})"
        cls = T4APIUnavailable if exc.code >= 500 else T4APIError
        raise cls(text, status=exc.code, error=error, detail=detail, url=url) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise T4APIUnavailable(
            f"T4 API unreachable at {api_base()} ({method} {url}): {reason}", url=url
        ) from exc
    except http.client.InvalidURL as exc:
        raise T4ConfigError(f"T4_INTENT_API is not a usable URL: {api_base()!r}") from exc
    except (http.client.HTTPException, ValueError) as exc:
        # Not HTTP at all, or a response cut short: the API cannot be trusted this time.
        raise T4APIUnavailable(
            f"T4 API at {api_base()} answered {method} {url} with a broken response: "
            f"{type(exc).__name__}",
            url=url,
        ) from exc
    if not raw.strip():
        return status, None
    try:
        return status, json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise T4APIUnavailable(
            f"{method} {url} → HTTP {status} but the body is not JSON", status=status, url=url
        ) from exc
