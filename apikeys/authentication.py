"""DRF authentication: agent API keys and the admin token.

Missing key → 401; unknown, revoked or expired key → 403; over the rate → 429.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.request import Request

from audit.actor import Actor
from audit.middleware import client_ip

from .crypto import parse_key
from .models import APIKey, KeyStatus
from .ratelimit import rate_consume
from .selectors import apikey_get_by_secret
from .services import apikey_touch

API_KEY_HEADER = "HTTP_X_T4_API_KEY"
ADMIN_TOKEN_HEADER = "HTTP_X_T4_ADMIN_TOKEN"  # noqa: S105 (a header name)


def presented_key(request: Request) -> str | None:
    raw = request.META.get(API_KEY_HEADER)
    if raw is not None and not raw.strip():
        raw = None  # an empty header (a proxy or client default) must not hide a Bearer key
    if raw is None:
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            raw = value
    if raw is None:
        return None
    return raw.strip()


class APIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[APIKey, None] | None:
        raw = presented_key(request)
        if raw is None:
            return None
        django_request = request._request
        parsed = parse_key(raw)
        if parsed is not None:
            # The prefix is public; it lets the request log name even a refused key.
            django_request.t4_key_prefix = f"t4_{parsed.prefix}"
        api_key = apikey_get_by_secret(raw=raw) if raw else None
        if api_key is None:
            raise exceptions.PermissionDenied("Unknown API key.", code="invalid_api_key")
        django_request.t4_key_prefix = api_key.display_prefix
        django_request.t4_agent_id = api_key.agent_id
        status = api_key.status
        if status == KeyStatus.REVOKED:
            raise exceptions.PermissionDenied("This API key has been revoked.", code="key_revoked")
        if status == KeyStatus.EXPIRED:
            raise exceptions.PermissionDenied("This API key has expired.", code="key_expired")
        state = rate_consume(django_request, api_key)
        django_request.t4_rate = state
        if state.exceeded:
            raise exceptions.Throttled(
                wait=state.reset_seconds,
                detail=f"Rate limit of {state.limit} requests per minute exceeded.",
            )
        apikey_touch(api_key=api_key)
        return api_key, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="t4", header="X-T4-API-KEY"'


@dataclass(frozen=True)
class AdminPrincipal:
    """``request.user`` on admin endpoints: the admin token or a staff session."""

    actor: Actor
    is_authenticated: bool = True
    is_anonymous: bool = False


def admin_token_matches(token: str) -> bool:
    expected = settings.T4_ADMIN_TOKEN or ""
    # An unset token never matches, not even an empty presented one.
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


class AdminAuthentication(BaseAuthentication):
    """``X-T4-ADMIN-TOKEN``, ``?admin_token=`` (the seed's curl commands) or a staff session."""

    def authenticate(self, request: Request) -> tuple[AdminPrincipal, None] | None:
        token = request.META.get(ADMIN_TOKEN_HEADER)
        if token is None:
            token = request.query_params.get("admin_token")
        ip = client_ip(request._request)
        if token is not None:
            if not admin_token_matches(token):
                raise exceptions.PermissionDenied(
                    "Invalid admin token.", code="invalid_admin_token"
                )
            return AdminPrincipal(actor=Actor.admin_token(remote_addr=ip)), None
        user = getattr(request._request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            self._enforce_csrf(request)
            return AdminPrincipal(actor=Actor.for_user(user, remote_addr=ip)), None
        return None

    def _enforce_csrf(self, request: Request) -> None:
        check = CSRFCheck(lambda _request: None)
        check.process_request(request._request)
        reason = check.process_view(request._request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF failed: {reason}", code="csrf_failed")

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="t4-admin", header="X-T4-ADMIN-TOKEN"'
