"""Each LLM table is indexed for lookups by key once: by a composite index led by the key."""

from __future__ import annotations

import pytest
from django.db import connection

from llmgate.models import DailySpend, KeyDailyBudget, LLMUsage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [KeyDailyBudget, LLMUsage, DailySpend])
def test_lookups_by_key_use_one_composite_index(model) -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    indexed = [c["columns"] for c in constraints.values() if c["index"] or c["unique"]]
    assert ["api_key_id"] not in indexed  # the redundant single-column index is gone
    assert any(len(cols) > 1 and cols[0] == "api_key_id" for cols in indexed)
    # The foreign key itself stays.
    assert any(c["foreign_key"] and c["columns"] == ["api_key_id"] for c in constraints.values())
