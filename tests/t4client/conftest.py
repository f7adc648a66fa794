"""Fixtures for the t4client tests: throw-away repositories, a fake intent API, CLI runner.

Nothing here needs Django or a database: t4client is a plain client of the T4 HTTP API.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from t4client.cli import main

API_KEY = "t4_test_key_0123456789"


@pytest.fixture(autouse=True)
def _t4_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Point at a port nobody listens on unless a test starts the fake API; no key by default.
    monkeypatch.setenv("T4_INTENT_API", "http://127.0.0.1:9")
    monkeypatch.delenv("T4_API_KEY", raising=False)
    monkeypatch.delenv("T4_RUFF", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    monkeypatch.delenv("GITHUB_SHA", raising=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository folder (``.git`` marks the root) that is the working directory."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    return root


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode())
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def fake_ruff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Replace ruff (via the T4_RUFF hook) by a script with the given Python body."""

    def install(body: str) -> None:
        script = tmp_path / "fake_ruff.py"
        script.write_text("import sys\n" + body + "\n")
        monkeypatch.setenv("T4_RUFF", f"{sys.executable} {script}")

    return install


# --- a fake T4 intent API -----------------------------------------------------------------


@dataclass
class FakeAPI:
    url: str = ""
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, list[str]], Any]] = field(default_factory=list)
    page_size: int = 2
    by_file_paginated: bool = False
    report_status: int = 201
    llm_status: int = 200

    def add(self, **intent: Any) -> None:
        self.intents[intent["id"]] = intent


def _handler(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Silence the per-request log lines so test output stays readable."""

        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _route(self, method: str) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parsed.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            api.requests.append((method, parsed.path, query, body))
            key = self.headers.get("X-T4-API-KEY")
            if not key:
                return self._send(401, {"error": "not_authenticated", "detail": "no key"})
            if key != API_KEY:
                return self._send(403, {"error": "forbidden", "detail": "unknown key"})
            path = parsed.path
            if method == "POST" and path == "/intents":
                if body["id"] in api.intents:
                    return self._send(409, {"error": "conflict", "detail": "duplicate id"})
                api.intents[body["id"]] = body
                return self._send(201, body)
            if method == "GET" and path == "/intents/by_file":
                file = query.get("file", [""])[0]
                items = sorted(
                    (i for i in api.intents.values() if i.get("file") == file),
                    key=lambda i: i.get("line") or 0,
                )
                if api.by_file_paginated:
                    return self._send(
                        200, {"count": len(items), "next": None, "previous": None, "results": items}
                    )
                return self._send(200, items)
            if method == "GET" and path == "/intents":
                status = query.get("status", [None])[0]
                items = [i for i in api.intents.values() if status in (None, i.get("status"))]
                page = int(query.get("page", ["1"])[0])
                chunk = items[(page - 1) * api.page_size : page * api.page_size]
                more = page * api.page_size < len(items)
                nxt = f"{api.url}/intents?status={status}&page={page + 1}" if more else None
                return self._send(
                    200, {"count": len(items), "next": nxt, "previous": None, "results": chunk}
                )
            if method == "POST" and path == "/reports":
                if api.report_status >= 400:
                    return self._send(api.report_status, {"error": "invalid", "detail": "nope"})
                api.reports.append(body)
                return self._send(api.report_status, {"id": len(api.reports)})
            if method == "POST" and path == "/llm/chat":
                if api.llm_status != 200:
                    return self._send(
                        api.llm_status,
                        {"error": "budget_exceeded", "detail": "daily limit reached"},
                    )
                return self._send(
                    200,
                    {
                        "text": "hi",
                        "prompt_tokens": 3,
                        "completion_tokens": 1,
                        "cost": "0.000025",
                        "remaining_today": "99.99",
                    },
                )
            return self._send(404, {"error": "not_found", "detail": path})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPI]:
    api = FakeAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    monkeypatch.setenv("T4_INTENT_API", api.url)
    monkeypatch.setenv("T4_API_KEY", API_KEY)
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
