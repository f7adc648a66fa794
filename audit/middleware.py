"""Request audit: one RequestLog row for every request, whatever its outcome."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import logging
import time
from collections.abc import Callable

import auditlog.middleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from t4site.db import insert_row
from t4site.errors import error_body
from t4site.redaction import redact_data, redact_query_string, redact_text

from .models import RequestLog
from .routes import route_of

logger = logging.getLogger(__name__)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    """An address as proxies write it: bare, ``1.2.3.4:port`` or ``[v6]:port``; IPv4-mapped
    IPv6 as plain IPv4. None for anything else (``unknown``, obfuscated names)."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=8)
def _networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """T4_TRUSTED_PROXIES as networks: addresses or networks ("10.0.0.0/8")."""
    networks = []
    for proxy in proxies:
        try:
            networks.append(ipaddress.ip_network(proxy.strip(), strict=False))
        except ValueError:
            logger.warning("T4_TRUSTED_PROXIES: %r is not an address or network; ignored", proxy)
    return tuple(networks)


def client_ip(request: HttpRequest) -> str | None:
    """The peer address, or the X-Forwarded-For client when the peer is a trusted proxy.

    Walks X-Forwarded-For from the right and stops at the first address that is not a trusted
    proxy, so a client cannot forge its address by sending its own header. A hop that is not
    an address ends the walk at the last address that was.
    """
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote is None or not forwarded:
        return str(remote) if remote else None
    networks = _networks(tuple(settings.T4_TRUSTED_PROXIES))

    def trusted(address: Address) -> bool:
        return any(address in network for network in networks)

    result = remote
    if trusted(remote):
        for hop in reversed(forwarded.split(",")):
            address = _address(hop)
            if address is None:
                break
            result = address
            if not trusted(address):
                break
    return str(result)


class AuditlogMiddleware(auditlog.middleware.AuditlogMiddleware):
    """django-auditlog's middleware, with the client address the request log records.

    The original takes the leftmost X-Forwarded-For value whoever sent it, so a client could
    write any address into the model-change trail; this one trusts only T4_TRUSTED_PROXIES.
    """

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return None if settings.AUDITLOG_DISABLE_REMOTE_ADDR else client_ip(request)

    @staticmethod
    def _get_remote_port(request: HttpRequest) -> int | None:
        return None  # X-Forwarded-Port is as forgeable as X-Forwarded-For


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, in any case, parameters aside."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _capture_body(request: HttpRequest) -> str:
    """The redacted JSON body, capped at T4_AUDIT_BODY_MAX_BYTES; never raises."""
    length = _content_length(request)
    if length <= 0:
        return ""
    content_type = request.META.get("CONTENT_TYPE", "")
    if not _is_json(content_type):
        return f"<{length} bytes of {content_type or 'unknown type'} not recorded>"
    try:
        raw = request.body
    except Exception:  # the stream was already consumed or is too large
        return f"<{length} bytes not recorded>"
    try:
        text = json.dumps(redact_data(json.loads(raw)), ensure_ascii=False, default=str)
    except RecursionError:
        return f"<{length} bytes of JSON nested too deeply not recorded>"
    except (ValueError, UnicodeDecodeError):
        # Its secrets cannot be found field by field, so none of it is kept.
        return f"<{length} bytes of malformed JSON not recorded>"
    cap = settings.T4_AUDIT_BODY_MAX_BYTES
    encoded = text.encode("utf-8")
    if len(encoded) > cap:
        text = encoded[:cap].decode("utf-8", errors="ignore") + "…[truncated]"
    return text


class RequestLogMiddleware:
    """Writes the request's RequestLog row once the response has been sent.

    The row is written from the response's ``close()``, which the WSGI server calls after
    the last byte has left (PEP 3333), so the audit insert is not part of any client's
    latency; ``duration_ms`` still measures the time to produce the response. A streaming
    response is logged when its stream ends. When no response exists (an exception escaped
    every handler) the row is written at once with status 500.

    This relies on the server calling ``close()``, which WSGI servers always do (gunicorn in
    a ``finally``). Django's ASGI handler skips it when the client disconnects mid-response,
    which is one reason T4 is served over WSGI only (see t4site/asgi.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        body = ""
        response: HttpResponse | None = None
        if _content_length(request) > settings.T4_MAX_BODY_BYTES:
            response = JsonResponse(
                error_body(
                    "payload_too_large",
                    f"Request body exceeds {settings.T4_MAX_BODY_BYTES} bytes.",
                ),
                status=413,
            )
        elif "\x00" in request.path:
            # No route takes a NUL, and PostgreSQL could not even compare one: refuse it
            # here rather than as a database error deep in a view.
            response = JsonResponse(
                error_body("bad_request", "The path contains a NUL character."), status=400
            )
        else:
            body = _capture_body(request)
        try:
            if response is None:
                response = self.get_response(request)
        except BaseException:
            _write(request, None, body, started)
            raise
        finished, duration_ms = timezone.now(), round((time.perf_counter() - started) * 1000, 3)
        # HttpResponseBase.close() runs these closers; it is the hook Django itself uses to
        # release a response's resources once the server is done with it.
        response._resource_closers.append(
            functools.partial(_write, request, response, body, started, (finished, duration_ms))
        )
        return response


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL; a request carrying one must still leave its row.
    return text.replace("\x00", "\\x00")


def _write(
    request: HttpRequest,
    response: HttpResponse | None,
    body: str,
    started: float,
    timing: tuple[dt.datetime, float] | None = None,
) -> None:
    """Insert the RequestLog row; ``timing`` is (finished at, duration in ms) when known."""
    # A failure to write the audit row must never fail the request itself.
    try:
        if timing is None:
            timing = timezone.now(), round((time.perf_counter() - started) * 1000, 3)
        finished, duration_ms = timing
        insert_row(
            RequestLog(
                time=finished,
                method=_storable(request.method or "")[:10],
                path=_storable(redact_text(request.path))[:2048],
                route=_storable(route_of(request)),
                query=_storable(redact_query_string(request.META.get("QUERY_STRING", ""))),
                status=response.status_code if response is not None else 500,
                client_ip=client_ip(request),
                key_prefix=getattr(request, "t4_key_prefix", "")[:32],
                agent_id=_storable(getattr(request, "t4_agent_id", ""))[:128],
                duration_ms=duration_ms,
                body=_storable(body),
                user_agent=_storable(redact_text(request.META.get("HTTP_USER_AGENT", "")))[:256],
            )
        )
    except Exception:
        logger.exception(
            "request log write failed for %s %s", request.method, redact_text(request.path)
        )
