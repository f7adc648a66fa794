"""Intent fixtures: a row factory that bypasses the API, and clients with narrow scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from intents.models import Intent
from tests.conftest import insert_intent


@pytest.fixture
def make_intent(db: None) -> Callable[..., Intent]:
    """Insert an intent row directly (any status, any timestamps) for read tests."""
    return insert_intent


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
