"""Intent fixtures: a row factory that bypasses the API, and clients with narrow scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from intents.models import Intent

_counter = {"n": 0}


@pytest.fixture
def make_intent(db: None) -> Callable[..., Intent]:
    """Insert an intent row directly (any status, any timestamps) for read tests."""

    def _make(**fields: Any) -> Intent:
        _counter["n"] += 1
        now = timezone.now()
        values: dict[str, Any] = {
            "id": f"T4-{_counter['n']:05d}",
            "code": "F401",
            "file": "pkg/mod.py",
            "line": _counter["n"],
            "reason": "kept for the plugin registry",
            "owner": "@team",
            "ticket": "GH-1",
            "status": "reserved",
            "created_at": now,
            "modified_at": now,
        }
        values.update(fields)
        return Intent.objects.create(**values)

    return _make


@pytest.fixture
def read_client(make_key: Callable[..., Any], client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(make_key("reader", scopes=["intents:read"]))


@pytest.fixture
def nothing_client(make_key: Callable[..., Any], client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(make_key("llm-only", scopes=["llm:call"]))


@pytest.fixture
def forever_client(make_key: Callable[..., Any], client_for: Callable[..., APIClient]) -> APIClient:
    """A full-scope key that never expires, for tests that travel years ahead."""
    return client_for(make_key("time-traveller", expires_in_days=None, rate_per_minute=10_000))
