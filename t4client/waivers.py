"""Waivers: accepted intents from the registry and entries of an optional YAML file.

YAML format (a list, or a mapping with a ``waivers`` list)::

    - file: src/app/views.py   # relative to the repository root
      line: 12                 # 0 = the whole file
      code: B008               # or "F401,F821"
      reason: FastAPI dependency injection
      expires: 2026-03-31      # required; an expired waiver no longer applies
      reviewer: "@lead"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from t4client import _http
from t4client._http import T4Error
from t4client.annotations import split_codes


class WaiverError(T4Error):
    code = "bad_waivers"


@dataclass(frozen=True)
class Waiver:
    file: str
    line: int
    codes: tuple[str, ...]
    reason: str
    expires: dt.datetime | None
    reviewer: str
    source: str  # "yaml" or "registry"
    id: str = ""

    def expired(self, now: dt.datetime) -> bool:
        return self.expires is not None and self.expires <= now

    def matches(self, file: str, line: int, code: str) -> bool:
        return (
            self.file == file
            and (self.line == 0 or self.line == line)
            and (code in self.codes or "*" in self.codes)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "id": self.id or None,
            "file": self.file,
            "line": self.line,
            "code": ",".join(self.codes),
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "reviewer": self.reviewer or None,
        }


def _norm_file(value: str) -> str:
    value = value.replace("\\", "/").strip()
    while value.startswith("./"):
        value = value[2:]
    return value


def _parse_expiry(value: Any, where: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        # A waiver that "expires 2026-03-31" still applies all of that day (UTC).
        return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            if len(text) == 10:
                return _parse_expiry(dt.date.fromisoformat(text), where)
            parsed = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise WaiverError(f"{where}: unreadable expiry {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise WaiverError(f"{where}: unreadable expiry {value!r}")


def load_yaml_waivers(path: str | Path) -> list[Waiver]:
    try:
        import yaml  # imported lazily: only --waivers needs PyYAML
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise WaiverError("--waivers needs PyYAML (pip install pyyaml)") from exc
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise WaiverError(f"cannot read waiver file {path}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WaiverError(f"waiver file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return []
    if isinstance(data, dict):
        data = data.get("waivers", [])
    if not isinstance(data, list):
        raise WaiverError(f"waiver file {path}: expected a list of waivers")
    waivers = []
    for index, entry in enumerate(data, start=1):
        where = f"{path}: waiver #{index}"
        if not isinstance(entry, dict):
            raise WaiverError(f"{where} is not a mapping")
        file = entry.get("file")
        codes = split_codes(entry.get("code"))
        line = entry.get("line", 0)
        if not isinstance(file, str) or not file.strip():
            raise WaiverError(f"{where}: 'file' is required")
        if not codes:
            raise WaiverError(f"{where}: 'code' is required")
        if isinstance(line, bool) or not isinstance(line, int) or line < 0:
            raise WaiverError(f"{where}: 'line' must be a whole number ≥ 0 (0 = whole file)")
        if entry.get("expires") in (None, ""):
            raise WaiverError(f"{where}: 'expires' is required (waivers are never permanent)")
        waivers.append(
            Waiver(
                file=_norm_file(file),
                line=line,
                codes=tuple(codes),
                reason=str(entry.get("reason") or ""),
                expires=_parse_expiry(entry.get("expires"), where),
                reviewer=str(entry.get("reviewer") or ""),
                source="yaml",
            )
        )
    return waivers


def fetch_registry_waivers(key: str, *, max_pages: int = 1000) -> list[Waiver]:
    """Accepted intents (all pages) as waivers; API trouble raises, it never means "none"."""
    waivers: list[Waiver] = []
    url: str | None = "/intents"
    params: dict[str, Any] | None = {"status": "accepted"}
    pages = 0
    while url:
        pages += 1
        if pages > max_pages:
            raise _http.T4APIError("registry pagination does not end (too many pages)")
        _, body = _http.request_json("GET", url, params=params, key=key)
        params = None  # "next" links already carry the query
        if isinstance(body, dict):
            items = body.get("results")
            url = body.get("next") or None
        else:
            items, url = body, None
        if not isinstance(items, list):
            raise _http.T4APIUnavailable("GET /intents answered an unexpected body")
        for item in items:
            if not isinstance(item, dict) or item.get("status", "accepted") != "accepted":
                continue
            file = item.get("file")
            codes = split_codes(item.get("code"))
            if not isinstance(file, str) or not codes:
                continue
            line = item.get("line") or 0
            waivers.append(
                Waiver(
                    file=_norm_file(file),
                    line=int(line) if str(line).isdigit() else 0,
                    codes=tuple(codes),
                    reason=str(item.get("reason") or ""),
                    expires=_parse_expiry(item.get("expires_at"), f"intent {item.get('id')}"),
                    reviewer=str(item.get("owner") or ""),
                    source="registry",
                    id=str(item.get("id") or ""),
                )
            )
    return waivers
