"""One domain error type, mapped to JSON once.

Every error response of the API has the shape ``{"error": code, "detail": text}``; validation
errors add ``fields`` with the messages per field.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the client can act on. Subclasses fix the HTTP status and error code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidTransition(DomainError):
    status_code = 422
    code = "invalid_transition"


class BudgetExceeded(DomainError):
    status_code = 402
    code = "budget_exceeded"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


def error_body(code: str, detail: Any, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "detail": detail}
    body.update(extra)
    return body


def _flatten_first(detail: Any) -> str:
    """A one-line summary of a DRF validation detail, naming the first field."""
    if isinstance(detail, dict):
        for field, messages in detail.items():
            inner = _flatten_first(messages)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
        return "Invalid input."
    if isinstance(detail, list) and detail:
        return _flatten_first(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: the only place errors become HTTP responses."""
    # Imported here: rest_framework.views loads the authentication classes, which import
    # this module, so a top-level import would be circular.
    from rest_framework.views import set_rollback

    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.detail, **exc.extra), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "Request body exceeds the size limit."), status=413
        )
    if not isinstance(exc, drf_exceptions.APIException):
        return None  # a real bug: Django's 500 handler (JSON) takes over and it is logged

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    set_rollback()
    if isinstance(exc, drf_exceptions.ValidationError):
        body = error_body("validation_error", _flatten_first(exc.detail))
        detail = exc.detail
        body["fields"] = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        return Response(body, status=400, headers=headers)
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
