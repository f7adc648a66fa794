"""Client side of report upload: ``POST $T4_INTENT_API/reports`` (scope ``reports:write``)."""

from __future__ import annotations

from typing import Any

from t4client import _http


def upload_report(report: dict[str, Any], *, key: str | None = None, sync: bool = False) -> Any:
    """Upload a validator report; returns the server's JSON answer (201).

    Raises ``T4ConfigError`` without a key, ``T4APIError`` when the server refuses the report
    (4xx: fix the request or the key) and ``T4APIUnavailable`` when it cannot be reached or
    fails (5xx: retry later).
    """
    body = dict(report)
    if sync:
        body["sync"] = True
    _, answer = _http.request_json("POST", "/reports", body=body, key=_http.api_key(key))
    return answer


def describe_upload_error(exc: _http.T4Error) -> str:
    if isinstance(exc, _http.T4APIUnavailable):
        if exc.status:
            return f"report upload failed: server error, retry later — {exc}"
        return f"report upload failed: T4 API unreachable — {exc}"
    if isinstance(exc, _http.T4APIError) and exc.status:
        return f"report upload rejected (HTTP {exc.status}) — {exc}"
    return f"report upload failed — {exc}"
