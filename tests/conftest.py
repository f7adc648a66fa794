"""Suite-wide fixtures: API clients, keys, the admin token and a clean cache per test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import ALL_SCOPES
from apikeys.services import IssuedKey, apikey_create
from audit.actor import Actor
from intents.models import Intent

ADMIN_TOKEN = "test-admin-token-5f1c2a9e7d"


@pytest.fixture(autouse=True)
def _t4_settings(settings: Any) -> None:
    settings.T4_ADMIN_TOKEN = ADMIN_TOKEN
    settings.T4_TRUSTED_PROXIES = []


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    # Rate-limit counters live in the cache; every test starts with a fresh window.
    cache.clear()


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """Stops the clock so a burst of requests cannot straddle two rate-limit windows."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


@pytest.fixture
def admin_token() -> str:
    return ADMIN_TOKEN


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def admin_client_api(api_client: APIClient) -> APIClient:
    """An API client that sends the admin token header."""
    api_client.credentials(HTTP_X_T4_ADMIN_TOKEN=ADMIN_TOKEN)
    return api_client


@pytest.fixture
def make_key(db: None) -> Callable[..., IssuedKey]:
    def _make(
        agent_id: str = "agent-1",
        *,
        owner: str = "@platform",
        scopes: list[str] | None = None,
        expires_in_days: int | None = 365,
        daily_limit: Decimal = Decimal("100.00"),
        rate_per_minute: int = 120,
    ) -> IssuedKey:
        return apikey_create(
            agent_id=agent_id,
            owner=owner,
            scopes=list(ALL_SCOPES) if scopes is None else scopes,
            expires_in_days=expires_in_days,
            daily_limit=daily_limit,
            rate_per_minute=rate_per_minute,
            actor=Actor.system("tests"),
        )

    return _make


@pytest.fixture
def issued_key(make_key: Callable[..., IssuedKey]) -> IssuedKey:
    return make_key()


@pytest.fixture
def key_client(issued_key: IssuedKey) -> APIClient:
    """An API client authenticated with a key that holds every scope."""
    client = APIClient()
    client.credentials(HTTP_X_T4_API_KEY=issued_key.secret)
    return client


@pytest.fixture
def client_for() -> Callable[[IssuedKey], APIClient]:
    def _client(issued: IssuedKey) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_X_T4_API_KEY=issued.secret)
        return client

    return _client


_intent_numbers = itertools.count(1)


def insert_intent(*, id_prefix: str = "T4-", status: str = "reserved", **fields: Any) -> Intent:
    """Insert an intent row directly (any status, any timestamps), bypassing the lifecycle:
    for tests that read intents. A numbered id and line unless given."""
    n = next(_intent_numbers)
    now = timezone.now()
    values: dict[str, Any] = {
        "id": f"{id_prefix}{n:05d}",
        "code": "F401",
        "file": "pkg/mod.py",
        "line": n,
        "reason": "kept for the plugin registry",
        "owner": "@team",
        "ticket": "GH-1",
        "status": status,
        "created_at": now,
        "modified_at": now,
    }
    values.update(fields)
    return Intent.objects.create(**values)
