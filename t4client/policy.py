"""Policy client for agents: register intents, query them, and the pre-PR check.

Usage, as in the seed::

    from t4client.policy import pre_pr_check
    try:
        pre_pr_check(["src/foo.py"], ["F821", "F401"], auto_create_reserved=True)
    except RuntimeError as e:
        print(f"Missing intents: {e}")

Configuration is read at call time: ``T4_INTENT_API`` (default http://127.0.0.1:8001) and
``T4_API_KEY``. An unreachable or failing API raises ``T4APIUnavailable`` (a RuntimeError with a
clear message): it is never read as "this file has no intents".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from t4client import _http
from t4client._http import T4APIError, T4APIUnavailable, T4ConfigError, T4Error
from t4client.annotations import split_codes
from t4client.paths import find_root, resolve_paths
from t4client.ruffrun import RuffError, run_ruff
from t4client.validator import scan_file

COVERING_STATUSES = frozenset({"planned", "committed", "accepted", "implemented"})

__all__ = [
    "COVERING_STATUSES",
    "MissingIntentsError",
    "T4APIError",
    "T4APIUnavailable",
    "T4ConfigError",
    "T4Error",
    "intents_by_file",
    "pre_pr_check",
    "register_intent",
    "reserved_intent_id",
]


class MissingIntentsError(RuntimeError):
    """Findings without a covering intent; ``missing`` lists file, line and code."""

    def __init__(self, missing: list[dict[str, Any]], created: list[str]) -> None:
        self.missing = missing
        self.created = created
        lines = [f"{m['file']}:{m['line']} {m['code']}" for m in missing]
        text = f"{len(missing)} finding(s) without a registered intent: " + "; ".join(lines)
        if created:
            text += f" (reserved placeholders registered: {', '.join(created)})"
        super().__init__(text)


def register_intent(payload: dict[str, Any], *, key: str | None = None) -> Any:
    """``POST /intents``; returns the created intent. A duplicate id raises ``T4APIError`` 409."""
    _, body = _http.request_json("POST", "/intents", body=payload, key=_http.api_key(key))
    return body


def intents_by_file(file: str, *, key: str | None = None) -> list[dict[str, Any]]:
    """``GET /intents/by_file?file=…`` as a list (plain list or paginated ``results``)."""
    api_key = _http.api_key(key)
    items: list[dict[str, Any]] = []
    url: str | None = "/intents/by_file"
    params: dict[str, Any] | None = {"file": file}
    for _ in range(1000):
        _, body = _http.request_json("GET", url, params=params, key=api_key)
        params = None
        if isinstance(body, list):
            page, url = body, None
        elif isinstance(body, dict) and isinstance(body.get("results"), list):
            page, url = body["results"], body.get("next") or None
        else:
            raise T4APIUnavailable("GET /intents/by_file answered an unexpected body")
        items.extend(i for i in page if isinstance(i, dict))
        if not url:
            return items
    raise T4APIError("GET /intents/by_file: pagination does not end")


def reserved_intent_id(file: str, line: int, code: str) -> str:
    """Deterministic: the same finding always gets the same id, so re-runs never duplicate."""
    digest = hashlib.sha256(f"{file}\0{line}\0{code}".encode()).hexdigest()[:16]
    return f"T4-R-{digest}"


def _covers(intent: dict[str, Any], now: dt.datetime) -> bool:
    status = str(intent.get("status") or "").lower()
    if status not in COVERING_STATUSES:
        return False
    if status == "accepted" and intent.get("expires_at"):
        try:
            expires = dt.datetime.fromisoformat(str(intent["expires_at"]).replace("Z", "+00:00"))
        except ValueError:
            return False
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=dt.UTC)
        return expires > now
    return True


def _codes_of(intent: dict[str, Any]) -> set[str]:
    return set(split_codes(intent.get("code")))


def pre_pr_check(
    files: Sequence[str] | str,
    critical_codes: Iterable[str] | None = None,
    auto_create_reserved: bool = True,
    *,
    key: str | None = None,
) -> dict[str, Any]:
    """Fail unless every critical finding in ``files`` has a covering intent.

    Raises ``MissingIntentsError`` listing the uncovered findings (after registering reserved
    placeholders when ``auto_create_reserved``), ``RuffError`` when ruff cannot run and
    ``T4APIError``/``T4APIUnavailable`` when the API fails. Returns a summary on success.
    """
    if isinstance(files, str):
        files = [files]
    root = find_root()
    targets = resolve_paths(list(files), root)
    codes = [c.strip().upper() for c in (critical_codes or []) if c.strip()]
    findings = run_ruff([str(t) for t in targets], codes=codes or None, cwd=root)
    broken = next((f for f in findings if f.code == "invalid-syntax"), None)
    if broken is not None:
        # Ruff cannot check a file that does not parse, so its silence proves nothing, and no
        # intent can cover "invalid-syntax": fail closed, whatever the critical codes.
        raise RuffError(
            f"{broken.file}:{broken.line}: the file does not parse, so ruff cannot check it "
            f"({broken.message})",
            code="syntax_error",
        )
    now = dt.datetime.now(dt.UTC)
    by_file: dict[str, list[dict[str, Any]]] = {}
    scans: dict[str, Any] = {}
    covered: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    created: list[str] = []
    api_key = _http.api_key(key) if findings else None
    for f in sorted(findings, key=lambda f: (f.file, f.line, f.code)):
        rel = f.file
        with contextlib.suppress(ValueError):
            rel = Path(f.file).resolve().relative_to(root).as_posix()
        if rel not in by_file:
            by_file[rel] = intents_by_file(rel, key=api_key)
            scans[rel] = scan_file(f.file)
        ann_ids = {
            a.id for a in scans[rel].annotations.get(f.line, ()) if a.id and a.covers(f.code)
        }
        entry = {"file": rel, "line": f.line, "code": f.code, "message": f.message}
        match = next(
            (
                i for i in by_file[rel]
                if _covers(i, now)
                and (i.get("id") in ann_ids
                     or (f.code in _codes_of(i) and _as_int(i.get("line")) == f.line))
            ),
            None,
        )  # fmt: skip
        if match is not None:
            covered.append({**entry, "intent": match.get("id")})
            continue
        missing.append(entry)
        if auto_create_reserved:
            intent_id = reserved_intent_id(rel, f.line, f.code)
            entry["reserved_id"] = intent_id
            if any(i.get("id") == intent_id for i in by_file[rel]):
                continue  # placeholder already registered by an earlier run
            payload = {
                "id": intent_id,
                "code": f.code,
                "type": "import" if f.code == "F401" else "lint",
                "file": rel,
                "line": f.line,
                "status": "reserved",
                "reason": f"reserved by t4client pre_pr_check: {f.message}",
                "raw": {"source": "t4client.pre_pr_check", "message": f.message},
            }
            try:
                register_intent(payload, key=api_key)
            except T4APIError as exc:
                if exc.status != 409:  # 409: another run registered it first — fine
                    raise
            else:
                created.append(intent_id)
            by_file[rel].append(payload)
    if missing:
        raise MissingIntentsError(missing, created)
    return {
        "status": "covered",
        "files": len(targets),
        "findings": len(findings),
        "covered": covered,
    }


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
