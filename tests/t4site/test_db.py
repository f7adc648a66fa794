"""t4site.db.insert_row stores exactly what Model.objects.create stores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import NOT_PROVIDED
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from apikeys.models import APIKey
from audit.models import RequestLog
from llmgate.models import LLMUsage, UsageStatus
from t4site.db import get_by_column, insert_row

pytestmark = pytest.mark.django_db

LEDGER_FIELDS = [
    "api_key_id", "agent_id", "model", "day", "created_at", "status", "prompt_tokens",
    "completion_tokens", "estimated_cost", "cost", "latency_ms", "streamed", "error",
    "request_id", "upstream_id",
]  # fmt: skip


def _ledger_values(api_key_id: int, request_id: str) -> dict[str, object]:
    return {
        "api_key_id": api_key_id,
        "agent_id": "agent-1",
        "model": "gpt-4o-mini",
        "day": dt.date(2026, 11, 24),
        "created_at": dt.datetime(2026, 11, 24, 23, 59, 59, 123456, tzinfo=dt.UTC),
        "status": UsageStatus.OK,
        "prompt_tokens": 12,
        "completion_tokens": 7,
        "estimated_cost": Decimal("0.0000123456"),
        "cost": Decimal("0.0000012345"),
        "latency_ms": 3,
        "streamed": True,
        "error": "ünïcode, 'quotes' and \"doubles\"",
        "request_id": request_id,
        "upstream_id": "chatcmpl-1",
    }


def test_a_ledger_row_reads_back_like_an_orm_created_one(issued_key):
    via_orm = LLMUsage.objects.create(**_ledger_values(issued_key.api_key.pk, "llm-orm"))
    fast = insert_row(LLMUsage(**_ledger_values(issued_key.api_key.pk, "llm-fast")))

    assert fast.pk is not None and fast.pk != via_orm.pk
    assert not fast._state.adding
    stored = LLMUsage.objects.values(*LEDGER_FIELDS)
    orm_row = stored.get(pk=via_orm.pk)
    fast_row = stored.get(pk=fast.pk)
    assert fast_row == {**orm_row, "request_id": "llm-fast"}
    assert fast_row["cost"] == Decimal("0.0000012345")  # exact, not a float


def test_model_defaults_apply_to_fields_left_out(issued_key):
    row = insert_row(
        LLMUsage(
            api_key_id=issued_key.api_key.pk,
            agent_id="agent-1",
            model="gpt-4o-mini",
            day=dt.date(2026, 11, 24),
            status=UsageStatus.REFUSED,
            request_id="llm-defaults",
        )
    )
    stored = LLMUsage.objects.get(pk=row.pk)
    assert (stored.prompt_tokens, stored.cost, stored.streamed, stored.error) == (
        0,
        Decimal(0),
        False,
        "",
    )
    assert stored.created_at is not None


def test_one_statement_per_row_and_ip_addresses_normalised():
    with CaptureQueriesContext(connection) as queries:
        row = insert_row(
            RequestLog(
                time=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
                method="GET",
                path="/health",
                status=200,
                client_ip="2001:DB8::1",
                duration_ms=0.5,
            )
        )
    assert len(queries) == 1
    assert RequestLog.objects.get(pk=row.pk).client_ip == "2001:db8::1"


def _field_values(instance) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_get_by_column_reads_a_key_exactly_as_the_orm_does(make_key):
    issued = make_key(scopes=["llm:call", "intents:read"], daily_limit=Decimal("12.34"))
    APIKey.objects.filter(pk=issued.api_key.pk).update(
        last_used_at=dt.datetime(2026, 11, 24, 8, 30, 1, 250000, tzinfo=dt.UTC)
    )
    expected = APIKey.objects.get(pk=issued.api_key.pk)

    with CaptureQueriesContext(connection) as queries:
        found = get_by_column(APIKey, "prefix", expected.prefix)

    assert len(queries) == 1
    assert _field_values(found) == _field_values(expected)
    assert found.scopes == ["llm:call", "intents:read"]  # JSON decoded
    assert found.daily_limit == Decimal("12.34")
    assert found.last_used_at.tzinfo is not None  # aware, as the ORM returns it
    assert not found._state.adding and found._state.db == "default"


def test_get_by_column_misses_return_none(make_key):
    make_key()
    assert get_by_column(APIKey, "prefix", "nosuchpf") is None
    assert get_by_column(APIKey, "key_hash", "0" * 64) is None


def test_insert_row_refuses_an_instance_that_has_a_primary_key(issued_key):
    row = LLMUsage(pk=42, **_ledger_values(issued_key.api_key.pk, "llm-pk"))
    with pytest.raises(ValueError, match="primary key"):
        insert_row(row)
    assert not LLMUsage.objects.exists()


def test_an_expression_value_falls_back_to_the_orm(issued_key):
    values = {**_ledger_values(issued_key.api_key.pk, "llm-now"), "created_at": Now()}
    row = insert_row(LLMUsage(**values))
    assert row.pk is not None
    assert LLMUsage.objects.get(pk=row.pk).created_at is not None


def test_models_with_database_defaults_are_refused():
    from intents.models import Intent

    if not any(
        getattr(f, "generated", False) or f.db_default is not NOT_PROVIDED
        for f in Intent._meta.concrete_fields
    ):
        pytest.skip("Intent has no generated column any more")
    with pytest.raises(TypeError, match="generated columns"):
        insert_row(Intent(id="T4-x"))
