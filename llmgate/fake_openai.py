"""A small OpenAI-compatible chat server for tests, benchmarks and local development.

No Django, no network beyond the loopback interface. ``python -m llmgate.fake_openai``
serves on 127.0.0.1 and prints its base URL. Behaviour is set on the server object
(``server.config``) or per request by directives in the last message's text:
``#status=503`` (fail with that status), ``#sleep=1.5`` (answer late), ``#cut`` (break a
stream after two chunks), ``#nousage`` (report no usage).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIRECTIVE = re.compile(r"#(status|sleep|cut|nousage)(?:=([0-9.]+))?")


@dataclass
class FakeConfig:
    api_key: str = ""  # when set, requests must send it as a Bearer token
    status: int | None = None
    sleep: float = 0.0
    cut: bool = False
    no_usage: bool = False
    usage: tuple[int, int] | None = None  # fixed (prompt, completion) tokens
    reply: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    record: bool = True


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One buffered write per response and no Nagle delay: otherwise headers and body leave
    # in separate segments and the client's delayed ACK adds ~40 ms to every call.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests and the benchmark print their own output

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        config = self.server.config
        if config.api_key and self.headers.get("Authorization") != f"Bearer {config.api_key}":
            self._error(401, "Incorrect API key provided.", "invalid_api_key")
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(404, f"Unknown path {self.path}", None)
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "Body is not JSON.", None)
            return
        if config.record:
            config.requests.append(body)
        messages = body.get("messages") or []
        last = _text_of(messages[-1]) if messages else ""
        directives = {name: value for name, value in DIRECTIVE.findall(last)}
        status = int(directives["status"]) if "status" in directives else config.status
        sleep = float(directives["sleep"]) if "sleep" in directives else config.sleep
        cut = "cut" in directives or config.cut
        no_usage = "nousage" in directives or config.no_usage
        if sleep:
            time.sleep(sleep)
        if status and status >= 400:
            self._error(status, f"Fake upstream failure with status {status}.", "fake_failure")
            return
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 16
        words = (config.reply or f"Echo: {' '.join(last.split()[:8])}").split()
        words = words[:max_tokens] or ["ok"]
        if config.usage is not None:
            prompt_tokens, completion_tokens = config.usage
        else:
            prompt_tokens = sum(len(_text_of(m).split()) + 3 for m in messages) + 3
            completion_tokens = len(words)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        completion_id = f"chatcmpl-fake-{next(self.server.counter)}"
        model = body.get("model", "")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(completion_id, model, words, usage, include_usage and not no_usage, cut)
            return
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " ".join(words), "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
        }
        if not no_usage:
            payload["usage"] = usage
        self._json(200, payload)

    # --- responses ---------------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None) -> None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        self._json(status, {"error": {"message": message, "type": kind, "code": code}})

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(
        self,
        completion_id: str,
        model: str,
        words: list[str],
        usage: dict[str, int],
        include_usage: bool,
        cut: bool,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        created = int(time.time())

        def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if include_usage:
                chunk["usage"] = None
            return f"data: {json.dumps(chunk)}\n\n".encode()

        self._chunk(event({"role": "assistant", "content": ""}))
        for index, word in enumerate(words):
            if cut and index == 2:
                # Break the connection mid-body: no terminating chunk, no [DONE].
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._chunk(event({"content": (" " if index else "") + word}))
        if cut:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._chunk(event({}, "stop"))
        if include_usage:
            final = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            self._chunk(f"data: {json.dumps(final)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], config: FakeConfig) -> None:
        super().__init__(address, _Handler)
        self.config = config
        self.counter = itertools.count(1)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a deliberately cut connection is not an error worth a traceback


class FakeOpenAI:
    """``with FakeOpenAI() as fake: fake.base_url`` — a server on a free loopback port."""

    def __init__(self, config: FakeConfig | None = None, port: int = 0) -> None:
        self.config = config or FakeConfig()
        self._server = _Server(("127.0.0.1", port), self.config)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--no-record", action="store_true", help="do not keep request bodies")
    args = parser.parse_args()
    config = FakeConfig(api_key=args.api_key, record=not args.no_record)
    server = FakeOpenAI(config, port=args.port)
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._server.serve_forever()


if __name__ == "__main__":
    main()
