"""Intent admin: list and filters, edits through the lifecycle, bulk actions with refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from intents.models import Intent

pytestmark = pytest.mark.django_db
URL = "/admin/intents/intent/"


@pytest.fixture
def staff() -> Client:
    user = get_user_model().objects.create_superuser("lead", "lead@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


def test_changelist_filters_and_search(staff, make_intent) -> None:
    now = timezone.now()
    make_intent(id="soon", status="accepted", expires_at=now + timedelta(days=3))
    make_intent(id="later", status="accepted", expires_at=now + timedelta(days=60))
    make_intent(id="flagged", stale_since=now)
    make_intent(id="old", status="planned", modified_at=now - timedelta(days=45))
    make_intent(id="findme", ticket="JIRA-77")
    page = staff.get(URL).content.decode()
    assert "File:line" in page
    assert "soon" in page
    assert "later" in page

    def listed(query: str) -> set[str]:
        response = staff.get(f"{URL}?{query}")
        assert response.status_code == 200
        return {obj.pk for obj in response.context["cl"].result_list}

    assert listed("expiring=soon") == {"soon"}
    assert listed("stale=flagged") == {"flagged"}
    assert listed("stale=untouched") == {"old"}
    assert listed("q=JIRA-77") == {"findme"}
    assert listed("status__exact=accepted") == {"soon", "later"}


def test_change_form_refuses_illegal_transition(staff, make_intent) -> None:
    make_intent(id="imp", status="implemented")
    response = staff.get(f"{URL}imp/change/")
    assert response.status_code == 200
    assert "Created at" in response.content.decode()  # timestamps shown read-only
    form = response.context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()}
    data.update({"status": "accepted", "raw": "{}", "eta": "", "expires_at": ""})
    response = staff.post(f"{URL}imp/change/", data)
    assert response.status_code == 200  # form redisplayed with the error
    assert "cannot go from implemented to accepted" in response.content.decode()
    assert Intent.objects.get(pk="imp").status == "implemented"


def test_bulk_actions_go_through_the_service(staff, make_intent) -> None:
    make_intent(id="a", owner="", ticket="")
    make_intent(id="b", owner="@x", ticket="GH-1")
    make_intent(id="c", status="implemented")
    response = staff.post(
        URL,
        {"action": "move_to_planned", "_selected_action": ["a", "b", "c"]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("Moved to planned: 2" in m for m in messages)
    assert any("Refused 1: a: Status planned needs: owner, ticket." in m for m in messages)
    assert Intent.objects.get(pk="a").status == "reserved"
    assert Intent.objects.get(pk="b").status == "planned"
    assert Intent.objects.get(pk="c").status == "planned"  # reopen
    entry = LogEntry.objects.filter(object_pk="b", action=LogEntry.Action.UPDATE).get()
    assert entry.actor.username == "lead"

    staff.post(
        URL,
        {"action": "assign_owner_ticket", "_selected_action": ["a"], "owner": "@y", "ticket": "9"},
    )
    assert Intent.objects.filter(pk="a", owner="@y", ticket="9").exists()

    make_intent(id="w", reason="todo")
    make_intent(id="v", reason="framework requires it")
    response = staff.post(
        URL,
        {"action": "accept_as_waiver", "_selected_action": ["w", "v"], "days": "10"},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("w: Status accepted needs: reason" in m for m in messages)
    waiver = Intent.objects.get(pk="v")
    assert waiver.status == "accepted"
    assert timedelta(days=9) < waiver.expires_at - timezone.now() <= timedelta(days=10)

    staff.post(URL, {"action": "move_to_implemented", "_selected_action": ["v"]})
    assert Intent.objects.get(pk="v").resolved_at is not None


def test_change_form_refuses_expiring_a_waiver_before_its_expiry(staff, make_intent) -> None:
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    make_intent(id="waiver", status="accepted", expires_at=expires, reason="generated code")
    form = staff.get(f"{URL}waiver/change/").context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()}
    local = timezone.localtime(expires)
    data.update(
        {
            "status": "expired",
            "raw": "{}",
            "eta": "",
            "expires_at_0": local.date().isoformat(),
            "expires_at_1": local.time().isoformat(),
        }
    )
    data.pop("expires_at", None)
    response = staff.post(f"{URL}waiver/change/", data)
    assert response.status_code == 200  # form redisplayed with the refusal
    assert "A waiver expires when its expires_at has passed" in response.content.decode()
    row = Intent.objects.get(pk="waiver")
    assert (row.status, row.expires_at) == ("accepted", expires)
    assert not LogEntry.objects.filter(object_pk="waiver", action=LogEntry.Action.UPDATE).exists()


def _add_data(**overrides: str) -> dict[str, str]:
    data = {"id": "T4-admin-1", "code": "F401", "type": "lint", "file": "a.py", "line": "3",
            "import_text": "", "reason_category": "", "reason": "", "suggestion": "",
            "owner": "", "ticket": "", "eta": "", "expires_at": "", "raw": "{}",
            "status": "reserved"}  # fmt: skip
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "planned"}, "Status planned needs"),
        ({"file": "../etc/passwd"}, "file"),
        ({"id": "stale"}, "reserved path segment"),
        ({"status": "implemented", "owner": "@a"}, None),  # allowed: reserved → implemented
    ],
)
def test_add_form_checks_what_the_service_checks(staff, overrides, message) -> None:
    response = staff.post(f"{URL}add/", _add_data(**overrides))
    if message is None:
        assert response.status_code == 302
        assert Intent.objects.get(pk="T4-admin-1").status == "implemented"
        return
    assert response.status_code == 200  # the form again, with the error
    page = response.content.decode()
    assert message in page and "was added successfully" not in page
    assert not Intent.objects.exists()
    assert not LogEntry.objects.filter(object_pk="T4-admin-1").exists()


def test_change_form_refuses_a_path_outside_the_repository(staff, make_intent) -> None:
    make_intent(id="moved", file="a.py")
    form = staff.get(f"{URL}moved/change/").context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()}
    data.update({"file": "/etc/passwd", "raw": "{}", "eta": "", "expires_at": ""})
    response = staff.post(f"{URL}moved/change/", data)
    assert response.status_code == 200
    assert Intent.objects.get(pk="moved").file == "a.py"
