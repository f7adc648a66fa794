"""The lifecycle service: SPEC's table, field rules, timestamps, audit and concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import product

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actor import Actor
from intents import services
from intents.models import Intent, IntentStatus
from intents.services import (
    ALLOWED_TRANSITIONS,
    DEFAULT_WAIVER_DAYS,
    RuleViolation,
    intent_create,
    intent_delete,
    intent_transition,
    intent_update,
)
from t4site.errors import Conflict, DomainError, InvalidTransition, NotFound
from tests.tiers import require_postgres

ACTOR = Actor.system("tests")
STATUSES = list(IntentStatus.values)

# SPEC "Intents", written out independently of the service's table.
SPEC_TABLE = {
    ("reserved", "planned"),
    ("reserved", "committed"),
    ("reserved", "accepted"),
    ("reserved", "implemented"),
    ("planned", "committed"),
    ("planned", "accepted"),
    ("planned", "implemented"),
    ("committed", "implemented"),
    ("committed", "planned"),
    ("accepted", "planned"),
    ("accepted", "committed"),
    ("accepted", "implemented"),
    ("accepted", "expired"),
    ("expired", "planned"),
    ("expired", "committed"),
    ("expired", "accepted"),
    ("expired", "implemented"),
    ("implemented", "planned"),
}


def test_service_table_matches_spec() -> None:
    pairs = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert pairs == SPEC_TABLE


@pytest.mark.django_db
@pytest.mark.parametrize(("old", "new"), list(product(STATUSES, STATUSES)))
def test_every_pair_of_statuses(make_intent, old: str, new: str) -> None:
    # Every field rule satisfied, so only the table decides.
    intent = make_intent(
        status=old,
        owner="@team",
        ticket="GH-7",
        reason="FastAPI dependency injection",
        expires_at=timezone.now() + timedelta(days=5),
    )
    before = Intent.objects.get(pk=intent.pk)
    if (old, new) == ("accepted", "expired"):
        # The expiry job's move: only once the waiver's expires_at has passed.
        with time_machine.travel(timezone.now() + timedelta(days=6)):
            result = intent_transition(intent_id=intent.pk, to_status=new, actor=ACTOR)
        row = Intent.objects.get(pk=intent.pk)
        assert result.status == row.status == new
    elif (old, new) in SPEC_TABLE:
        result = intent_transition(intent_id=intent.pk, to_status=new, actor=ACTOR)
        row = Intent.objects.get(pk=intent.pk)
        assert result.status == row.status == new
        assert row.modified_at > before.modified_at
    else:
        with pytest.raises(InvalidTransition) as info:
            intent_transition(intent_id=intent.pk, to_status=new, actor=ACTOR)
        assert info.value.status_code == 422
        assert info.value.extra["from"] == old
        row = Intent.objects.get(pk=intent.pk)
        assert row.status == old
        assert row.modified_at == before.modified_at


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "fields", "missing"),
    [
        ("planned", {"owner": "", "ticket": ""}, ["owner", "ticket"]),
        ("planned", {"owner": "@a", "ticket": ""}, ["ticket"]),
        ("committed", {"owner": "", "ticket": "GH-1"}, ["owner"]),
        ("accepted", {"owner": "@a", "reason": "TODO "}, ["reason"]),
        ("accepted", {"owner": "@a", "reason": "  Kept for future use"}, ["reason"]),
        ("accepted", {"owner": "", "reason": "a real reason"}, ["owner"]),
    ],
)
def test_field_rules_refuse(make_intent, target, fields, missing) -> None:
    intent = make_intent(status="reserved", **fields)
    with pytest.raises(InvalidTransition) as info:
        intent_transition(intent_id=intent.pk, to_status=target, actor=ACTOR)
    assert info.value.extra["missing"] == missing
    assert Intent.objects.get(pk=intent.pk).status == "reserved"


@pytest.mark.django_db
def test_changes_in_the_same_transition_satisfy_rules(make_intent) -> None:
    intent = make_intent(owner="", ticket="")
    row = intent_transition(
        intent_id=intent.pk,
        to_status="planned",
        actor=ACTOR,
        changes={"owner": "@b", "ticket": "GH-9"},
    )
    assert (row.status, row.owner, row.ticket) == ("planned", "@b", "GH-9")


@pytest.mark.django_db
def test_accepted_gets_default_expiry_and_renewal(make_intent) -> None:
    with time_machine.travel("2030-01-01 00:00Z", tick=False):
        intent = make_intent(reason="generated code", expires_at=None)
        row = intent_transition(intent_id=intent.pk, to_status="accepted", actor=ACTOR)
        assert row.expires_at == timezone.now() + timedelta(days=DEFAULT_WAIVER_DAYS)
    with time_machine.travel("2030-05-01 00:00Z", tick=False):
        intent_transition(
            intent_id=intent.pk, to_status="expired", actor=ACTOR, expected_status="accepted"
        )
        row = intent_transition(intent_id=intent.pk, to_status="accepted", actor=ACTOR)
        assert row.expires_at == timezone.now() + timedelta(days=DEFAULT_WAIVER_DAYS)
        assert Intent.objects.get(pk=intent.pk).expires_at == row.expires_at


@pytest.mark.django_db
def test_a_waiver_expires_only_once_its_expiry_has_passed(make_intent) -> None:
    intent = make_intent(status="accepted", expires_at=timezone.now() + timedelta(days=5))
    before = Intent.objects.get(pk=intent.pk)
    with pytest.raises(InvalidTransition) as info:
        intent_transition(intent_id=intent.pk, to_status="expired", actor=ACTOR)
    assert info.value.status_code == 422
    assert info.value.extra["expires_at"] == before.expires_at.isoformat()
    row = Intent.objects.get(pk=intent.pk)
    assert (row.status, row.modified_at) == ("accepted", before.modified_at)
    # Ending it now, explicitly: the past expiry and the move in one change.
    past = timezone.now() - timedelta(minutes=1)
    row = intent_transition(
        intent_id=intent.pk, to_status="expired", actor=ACTOR, changes={"expires_at": past}
    )
    assert (row.status, row.expires_at) == ("expired", past)
    assert Intent.objects.get(pk=intent.pk).status == "expired"


@pytest.mark.django_db
def test_accepted_refuses_past_expiry(make_intent) -> None:
    intent = make_intent(reason="generated code")
    with pytest.raises(InvalidTransition):
        intent_transition(
            intent_id=intent.pk,
            to_status="accepted",
            actor=ACTOR,
            changes={"expires_at": timezone.now() - timedelta(days=1)},
        )


@pytest.mark.django_db
def test_resolved_at_set_and_cleared_on_reopen(make_intent) -> None:
    intent = make_intent(status="planned")
    with time_machine.travel("2031-03-04 05:06Z", tick=False):
        row = intent_transition(intent_id=intent.pk, to_status="implemented", actor=ACTOR)
        assert row.resolved_at == timezone.now()
    assert Intent.objects.get(pk=intent.pk).resolved_at is not None
    intent_transition(intent_id=intent.pk, to_status="planned", actor=ACTOR)
    assert Intent.objects.get(pk=intent.pk).resolved_at is None


@pytest.mark.django_db
def test_expected_status_is_compare_and_set(make_intent) -> None:
    intent = make_intent(status="planned")
    with pytest.raises(Conflict) as info:
        intent_transition(
            intent_id=intent.pk, to_status="expired", actor=ACTOR, expected_status="accepted"
        )
    assert info.value.code == "status_conflict"
    assert Intent.objects.get(pk=intent.pk).status == "planned"


@pytest.mark.django_db
def test_update_without_transition_keeps_rules_for_changed_fields(make_intent) -> None:
    intent = make_intent(status="planned")
    with pytest.raises(RuleViolation):
        intent_update(intent_id=intent.pk, actor=ACTOR, changes={"ticket": ""})
    assert Intent.objects.get(pk=intent.pk).ticket == "GH-1"
    # A legacy row that already lacks a ticket can still be edited otherwise.
    legacy = make_intent(status="planned", ticket="")
    row = intent_update(intent_id=legacy.pk, actor=ACTOR, changes={"suggestion": "remove"})
    assert row.suggestion == "remove"
    # The current status sent back is no transition.
    row = intent_update(intent_id=intent.pk, actor=ACTOR, changes={}, status="planned")
    assert row.status == "planned"


@pytest.mark.django_db
def test_update_clears_stale_flag(make_intent) -> None:
    intent = make_intent(stale_since=timezone.now())
    intent_update(intent_id=intent.pk, actor=ACTOR, changes={"ticket": "GH-99"})
    assert Intent.objects.get(pk=intent.pk).stale_since is None


@pytest.mark.django_db
def test_an_update_that_changes_nothing_writes_nothing(make_intent) -> None:
    since = timezone.now() - timedelta(days=40)
    intent = make_intent(stale_since=since, eta=None)
    before = Intent.objects.get(pk=intent.pk)
    for changes in ({}, {"eta": None}, {"owner": before.owner}):
        intent_update(intent_id=intent.pk, actor=ACTOR, changes=changes)
    after = Intent.objects.get(pk=intent.pk)
    assert (after.stale_since, after.modified_at) == (since, before.modified_at)


@pytest.mark.django_db
def test_unknown_status_and_id(make_intent) -> None:
    intent = make_intent()
    with pytest.raises(InvalidTransition):
        intent_transition(intent_id=intent.pk, to_status="bogus", actor=ACTOR)
    with pytest.raises(NotFound):
        intent_transition(intent_id="nope", to_status="planned", actor=ACTOR)
    with pytest.raises(NotFound):
        intent_delete(intent_id="nope", actor=ACTOR)


@pytest.mark.django_db
def test_service_validates_without_the_api() -> None:
    for bad in (
        {"id": "a b"},
        {"id": "stale"},
        {"code": "f821"},
        {"file": "../etc/passwd"},
        {"file": "/abs.py"},
        {"line": 0},
    ):
        args = {"id": "T4-x", "code": "F401", "file": "a.py", "line": 1, **bad}
        with pytest.raises(DomainError):
            intent_create(actor=ACTOR, **args)
    assert not Intent.objects.exists()


@pytest.mark.django_db
def test_create_then_duplicate_and_status_via_lifecycle() -> None:
    intent_create(id="T4-a", code="B008", file="a.py", line=3, actor=ACTOR)
    with pytest.raises(Conflict):
        intent_create(id="T4-a", code="B008", file="a.py", line=3, actor=ACTOR)
    # A requested status is reached through the lifecycle, all or nothing.
    with pytest.raises(InvalidTransition):
        intent_create(id="T4-b", code="B008", file="a.py", line=4, status="planned", actor=ACTOR)
    assert not Intent.objects.filter(pk="T4-b").exists()
    row = intent_create(
        id="T4-c",
        code="B008",
        file="a.py",
        line=5,
        status="committed",
        owner="@x",
        ticket="GH-2",
        actor=ACTOR,
    )
    assert row.status == "committed"
    with pytest.raises(InvalidTransition):
        intent_create(id="T4-d", code="B008", file="a.py", line=6, status="expired", actor=ACTOR)


@pytest.mark.django_db
def test_every_change_is_audited_with_its_actor(make_intent) -> None:
    intent = intent_create(
        id="T4-audit", code="F821", file="a.py", line=1, actor=Actor.system("agent-x")
    )
    intent_transition(
        intent_id=intent.pk,
        to_status="planned",
        actor=Actor.system("agent-y"),
        changes={"owner": "@o", "ticket": "T-1"},
    )
    intent_delete(intent_id=intent.pk, actor=Actor.system("agent-z"))
    entries = LogEntry.objects.filter(object_pk="T4-audit").order_by("timestamp", "pk")
    assert [e.action for e in entries] == [
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    assert [e.additional_data["actor"] for e in entries] == ["agent-x", "agent-y", "agent-z"]
    update = entries[1]
    assert update.changes_dict["status"] == ["reserved", "planned"]
    assert update.changes_dict["owner"][1] == "@o"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_patches_have_one_winner(make_intent, key_client, monkeypatch) -> None:
    """Both PATCHes read ``reserved`` before either writes; the compare-and-set picks one."""
    require_postgres()
    intent = make_intent(status="reserved", owner="@team", ticket="GH-1", reason="real reason")
    both_read = threading.Barrier(2, timeout=10)
    original = services.transition_allowed

    def allowed_after_both_read(old: str, new: str) -> bool:
        both_read.wait()  # called right after the read, before the UPDATE
        return original(old, new)

    monkeypatch.setattr(services, "transition_allowed", allowed_after_both_read)
    secret = key_client._credentials["HTTP_X_T4_API_KEY"]
    responses: dict[str, tuple[int, dict]] = {}

    def patch(target: str) -> None:
        client = APIClient()
        client.credentials(HTTP_X_T4_API_KEY=secret)
        try:
            response = client.patch(f"/intents/{intent.pk}", {"status": target}, format="json")
            responses[target] = (response.status_code, response.json())
        finally:
            connection.close()  # each thread ran on its own connection

    threads = [threading.Thread(target=patch, args=(t,)) for t in ("planned", "committed")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    codes = sorted(code for code, _body in responses.values())
    assert codes == [200, 409], responses
    winner = next(t for t, (code, _body) in responses.items() if code == 200)
    loser_body = next(body for code, body in responses.values() if code == 409)
    assert loser_body["error"] == "concurrent_update"
    row = Intent.objects.get(pk=intent.pk)
    assert row.status == winner
    assert responses[winner][1]["modified_at"] is not None
    updates = LogEntry.objects.filter(object_pk=intent.pk, action=LogEntry.Action.UPDATE)
    assert updates.count() == 1
    assert updates.get().changes_dict["status"] == ["reserved", winner]
