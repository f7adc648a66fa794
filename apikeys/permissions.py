"""Scope and admin permissions.

A view states what it needs with ``required_scope`` (one scope for every method) or
``required_scopes`` (a dict by HTTP method); safe methods default to no extra scope.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from .authentication import AdminPrincipal
from .models import APIKey


def required_scope_for(view: object, method: str) -> str | tuple[str, ...] | None:
    per_method = getattr(view, "required_scopes", None)
    if per_method:
        # HEAD runs the GET handler (its status and size tell what GET would): same scope.
        return per_method.get("GET" if method == "HEAD" else method)
    return getattr(view, "required_scope", None)


class HasRequiredScope(BasePermission):
    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        api_key = request.user
        if not isinstance(api_key, APIKey):
            return False  # DRF turns this into 401 with WWW-Authenticate
        scope = required_scope_for(view, request.method)
        if not scope:
            return True
        # A tuple means any one of its scopes will do.
        scopes = scope if isinstance(scope, tuple) else (scope,)
        if not any(api_key.has_scope(s) for s in scopes):
            named = " or ".join(f"'{s}'" for s in scopes)
            raise exceptions.PermissionDenied(
                f"This API key lacks the {named} scope.", code="missing_scope"
            )
        return True


class IsT4Admin(BasePermission):
    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        return isinstance(request.user, AdminPrincipal)
