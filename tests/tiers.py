"""Detects the PostgreSQL + Redis tier so tests can skip with a visible reason."""

from __future__ import annotations

import os
import socket
from functools import cache

import pytest
from django.conf import settings
from django.db import connection

POSTGRES_HOST = ("127.0.0.1", 5432)
REDIS_HOST = ("127.0.0.1", 6379)


@cache
def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def redis_url() -> str | None:
    """The Redis the suite may use: REDIS_URL if set, else the standard port if it answers."""
    if settings.REDIS_URL:
        return settings.REDIS_URL
    if port_open(*REDIS_HOST):
        return os.environ.get("T4_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return None


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL tier: the default database is "
            f"{connection.vendor}; run `make test` (scripts/services_tier.py) for this tier"
        )


def require_redis_cache() -> None:
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("Redis tier: the cache is not Redis; set REDIS_URL (make test does)")


def require_redis_server() -> str:
    url = redis_url()
    if url is None:
        pytest.skip("Redis tier: nothing answers on 127.0.0.1:6379")
    return url
