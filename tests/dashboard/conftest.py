"""Dashboard fixtures: users with and without access, and row factories for seeded figures."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from audit.models import RequestLog
from intents.models import Intent
from llmgate.models import LLMUsage
from tests.conftest import insert_intent

XSS = "</script><script>alert(1)</script>"
_ids = itertools.count(1)


@pytest.fixture
def staff_client(db: None) -> Client:
    user = User.objects.create_user("lead-staff", password="pw-staff-123", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def lead_client(db: None) -> Client:
    """A non-staff member of the "team leads" group."""
    user = User.objects.create_user("lead-member", password="pw-lead-123")
    user.groups.add(Group.objects.get_or_create(name="team leads")[0])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def plain_client(db: None) -> Client:
    user = User.objects.create_user("someone", password="pw-some-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def intent_row(db: None) -> Callable[..., Intent]:
    def _make(**fields: Any) -> Intent:
        return insert_intent(**{"id_prefix": "T4-D", "status": "planned", **fields})

    return _make


@pytest.fixture
def usage_row(db: None) -> Callable[..., LLMUsage]:
    def _make(key: Any, *, day: date, **fields: Any) -> LLMUsage:
        values: dict[str, Any] = {
            "api_key_id": key.pk,
            "agent_id": key.agent_id,
            "model": "gpt-4o",
            "day": day,
            "created_at": datetime.combine(day, time(12), tzinfo=UTC),
            "status": "ok",
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "cost": Decimal("0.0060"),
            "request_id": f"req-{next(_ids)}",
        }
        values.update(fields)
        return LLMUsage.objects.create(**values)

    return _make


@pytest.fixture
def request_row(db: None) -> Callable[..., RequestLog]:
    def _make(**fields: Any) -> RequestLog:
        values: dict[str, Any] = {
            "time": timezone.now(),
            "method": "GET",
            "path": "/intents",
            "status": 200,
            "duration_ms": 10.0,
        }
        values.update(fields)
        return RequestLog.objects.create(**values)

    return _make
