"""Waiver expiry and stale flagging: results, idempotence, late runs and audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import call_command

from audit.actor import Actor
from intents.models import Intent
from intents.scheduled import intent_expire_waivers, intent_flag_stale
from intents.services import intent_create, intent_transition, intent_update
from intents.tasks import expire_waivers, flag_stale_intents

pytestmark = pytest.mark.django_db
AGENT = Actor.system("key:t4_test (agent)")
T0 = datetime.fromisoformat("2026-01-01T12:00:00+00:00")


def new_intent(intent_id: str, status: str = "reserved", **fields) -> Intent:
    intent_create(id=intent_id, code="F401", file="pkg/a.py", line=1, actor=AGENT,
                  reason="kept for plugins", owner="@team", ticket="GH-1", **fields)  # fmt: skip
    if status != "reserved":
        intent_transition(intent_id=intent_id, to_status=status, actor=AGENT)
    return Intent.objects.get(pk=intent_id)


def test_expire_waivers_after_a_missed_run_then_idempotent():
    with time_machine.travel(T0, tick=False):
        new_intent("W-due", "accepted")  # default expiry: 90 days
        new_intent("W-later", "accepted", expires_at=T0 + timedelta(days=200))
        new_intent("P-open", "planned")
    # The job did not run for two weeks after the expiry: it catches up on the next run.
    with time_machine.travel(T0 + timedelta(days=104), tick=False):
        result = intent_expire_waivers()
        assert result.expired == ["W-due"] and result.skipped == []
        assert intent_expire_waivers().expired == []  # second run: nothing more
    statuses = dict(Intent.objects.values_list("id", "status"))
    assert statuses == {"W-due": "expired", "W-later": "accepted", "P-open": "planned"}
    entry = LogEntry.objects.filter(object_pk="W-due").latest("timestamp")
    assert entry.actor_email == "scheduler"
    assert entry.changes["status"] == ["accepted", "expired"]


def test_a_waiver_renewed_meanwhile_is_not_expired(monkeypatch):
    with time_machine.travel(T0, tick=False):
        new_intent("W-1", "accepted")
    with time_machine.travel(T0 + timedelta(days=91), tick=False):
        from intents import scheduled

        original = scheduled.intent_list_waivers_due

        def due_then_renewed():
            due_ids = list(original().values_list("id", flat=True))
            # A human renews the waiver between the job's read and its write.
            intent_update(
                intent_id="W-1", actor=AGENT, changes={"expires_at": T0 + timedelta(days=300)}
            )
            return Intent.objects.filter(pk__in=due_ids)

        monkeypatch.setattr(scheduled, "intent_list_waivers_due", due_then_renewed)
        result = intent_expire_waivers()
    assert result.expired == []
    assert [item["id"] for item in result.skipped] == ["W-1"]
    assert Intent.objects.get(pk="W-1").status == "accepted"


def test_flag_stale_flags_open_untouched_intents_once(settings):
    settings.T4_STALE_DAYS = 30
    with time_machine.travel(T0, tick=False):
        new_intent("old-reserved")
        new_intent("old-planned", "planned")
        new_intent("old-accepted", "accepted")
    with time_machine.travel(T0 + timedelta(days=20), tick=False):
        new_intent("young")
    with time_machine.travel(T0 + timedelta(days=45), tick=False):
        result = intent_flag_stale()
        assert (result.flagged, result.cleared) == (2, 0)
        assert intent_flag_stale().flagged == 0  # idempotent
    stale = set(Intent.objects.filter(stale_since__isnull=False).values_list("id", flat=True))
    assert stale == {"old-reserved", "old-planned"}
    entries = LogEntry.objects.filter(additional_data__job="flag_stale_intents")
    assert set(entries.values_list("object_pk", flat=True)) == stale
    assert set(entries.values_list("actor_email", flat=True)) == {"scheduler"}
    # Touching an intent clears its flag; closing one by a bulk path is cleaned by the job.
    with time_machine.travel(T0 + timedelta(days=46), tick=False):
        intent_update(intent_id="old-planned", actor=AGENT, changes={"ticket": "GH-2"})
        Intent.objects.filter(pk="old-reserved").update(status="implemented")
        assert intent_flag_stale().cleared == 1
    assert not Intent.objects.filter(stale_since__isnull=False).exists()


def test_tasks_and_commands_print_summaries():
    with time_machine.travel(T0, tick=False):
        new_intent("W-1", "accepted")
        new_intent("R-1")
    with time_machine.travel(T0 + timedelta(days=100), tick=False):
        assert expire_waivers.apply().get() == {"expired": 1, "skipped": 0}
        assert flag_stale_intents.apply().get() == {"flagged": 1, "cleared": 0}
        out = StringIO()
        call_command("expire_waivers", stdout=out)
        call_command("flag_stale_intents", stdout=out)
    assert "expire_waivers: 0 waiver(s) expired" in out.getvalue()
    assert "flag_stale_intents: 0 intent(s) flagged stale" in out.getvalue()


def test_stale_filter_on_the_api(key_client):
    with time_machine.travel(T0, tick=False):
        new_intent("old")
    new_intent("fresh")
    intent_flag_stale(days=30)
    body = key_client.get("/intents?stale=true").json()
    assert [row["id"] for row in body["results"]] == ["old"]
