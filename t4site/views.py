"""Site-wide endpoints."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("health: database check failed: %s", type(exc).__name__)
        return "error"
    return "ok"


def _check_cache() -> str:
    try:
        cache.set("t4:health", "ok", 10)
        if cache.get("t4:health") != "ok":
            return "error"
    except Exception as exc:
        logger.warning("health: cache check failed: %s", type(exc).__name__)
        return "error"
    return "ok"


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(auth=[], responses={200: dict, 503: dict})
    def get(self, request: Request) -> Response:
        checks = {"database": _check_database(), "cache": _check_cache()}
        healthy = all(value == "ok" for value in checks.values())
        body = {
            "status": "ok" if healthy else "degraded",
            "time": timezone.now().isoformat(),
            "version": settings.T4_VERSION,
            "checks": checks,
        }
        return Response(body, status=200 if healthy else 503)
