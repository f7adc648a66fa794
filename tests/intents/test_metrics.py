"""GET /metrics/summary: totals, weighted quality score, resolve time under time control."""

from __future__ import annotations

import pytest
import time_machine

from audit.actor import Actor
from intents.selectors import metrics_summary
from intents.services import intent_create, intent_transition

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def test_empty_registry(key_client) -> None:
    response = key_client.get("/metrics/summary")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 0
    assert body["by_code"] == {}
    assert set(body["by_status"]) == {
        "reserved",
        "planned",
        "committed",
        "accepted",
        "expired",
        "implemented",
    }
    assert body["quality_score"] is None
    assert body["avg_time_to_resolve_days"] is None


def test_counts_and_weighted_quality(key_client, make_intent) -> None:
    # passes: F821 (w3) planned with owner/ticket/reason
    make_intent(code="F821", status="planned")
    # fails: F401 (w3) generic reason
    make_intent(code="F401", status="reserved", reason="  TODO ")
    # fails: B904 (w2) committed without ticket
    make_intent(code="B904", status="committed", ticket="")
    # passes: reserved needs no ticket; E701 weighs 1
    make_intent(code="E701", status="reserved", ticket="")
    # fails: RUF006 (w2) no owner
    make_intent(code="RUF006", status="accepted", owner="")
    # not scored: implemented (its finding is gone), even though it would fail
    make_intent(code="F821", status="implemented", owner="")
    body = key_client.get("/metrics/summary").json()
    assert body["total"] == 6
    assert body["by_status"]["reserved"] == 2
    assert body["by_status"]["implemented"] == 1
    assert body["by_code"] == {"F821": 2, "B904": 1, "E701": 1, "F401": 1, "RUF006": 1}
    quality = body["quality"]
    assert (quality["scored"], quality["passing"]) == (5, 2)
    assert (quality["weighted_good"], quality["weighted_total"]) == (4, 11)
    assert body["quality_score"] == round(100 * 4 / 11, 2)


def test_avg_time_to_resolve_under_controlled_time() -> None:
    with time_machine.travel("2030-01-01 00:00Z", tick=False):
        intent_create(id="r1", code="F401", file="a.py", line=1, actor=ACTOR)
        intent_create(id="r2", code="F401", file="a.py", line=2, actor=ACTOR)
        intent_create(id="open", code="F401", file="a.py", line=3, actor=ACTOR)
    with time_machine.travel("2030-01-03 00:00Z", tick=False):
        intent_transition(intent_id="r1", to_status="implemented", actor=ACTOR)
    with time_machine.travel("2030-01-05 12:00Z", tick=False):
        intent_transition(intent_id="r2", to_status="implemented", actor=ACTOR)
    summary = metrics_summary()
    # (2 + 4.5) / 2 days
    assert summary["avg_time_to_resolve_days"] == pytest.approx(3.25, abs=1e-3)
    # Reopened intents leave the average.
    with time_machine.travel("2030-01-06 00:00Z", tick=False):
        intent_transition(
            intent_id="r2", to_status="planned", actor=ACTOR, changes={"owner": "@o", "ticket": "1"}
        )
    assert metrics_summary()["avg_time_to_resolve_days"] == pytest.approx(2.0, abs=1e-3)


def test_summary_uses_a_fixed_number_of_queries(make_intent, django_assert_num_queries) -> None:
    for n in range(30):
        make_intent(code=f"F{n % 7}01", status="implemented" if n % 3 else "planned")
    with django_assert_num_queries(2):
        metrics_summary()
