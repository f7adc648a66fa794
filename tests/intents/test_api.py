"""Every intent endpoint: happy path, each 4xx with its JSON error, scopes and DB state."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.utils import timezone
from rest_framework.test import APIClient

from intents.models import Intent

pytestmark = pytest.mark.django_db

SEED_BODY = {
    "id": "T4-test-1",
    "code": "F821",
    "file": "lukhas/core/foo.py",
    "line": 42,
    "reason": "test",
}


# --- POST /intents ----------------------------------------------------------------------------
def test_seed_step_4_body_is_accepted_as_written(key_client, issued_key) -> None:
    response = key_client.post("/intents", SEED_BODY, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "reserved"
    assert body["id"] == "T4-test-1"
    assert body["type"] == "lint"
    assert body["created_by"].startswith(issued_key.api_key.display_prefix)
    row = Intent.objects.get(pk="T4-test-1")
    assert (row.code, row.file, row.line, row.reason) == ("F821", "lukhas/core/foo.py", 42, "test")
    assert row.created_by_id == issued_key.api_key.pk
    assert row.created_at == row.modified_at
    entry = LogEntry.objects.get(object_pk="T4-test-1")
    assert entry.additional_data["actor"].startswith(f"key:{issued_key.api_key.prefix}")


def test_create_duplicate_is_409(key_client) -> None:
    assert key_client.post("/intents", SEED_BODY, format="json").status_code == 201
    response = key_client.post("/intents", {**SEED_BODY, "line": 7}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "duplicate_id"
    assert Intent.objects.get(pk="T4-test-1").line == 42


def test_create_with_status_goes_through_lifecycle(key_client) -> None:
    body = {**SEED_BODY, "status": "planned", "owner": "@core", "ticket": "GH-1031"}
    response = key_client.post("/intents", body, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "planned"
    response = key_client.post("/intents", {**SEED_BODY, "id": "x2", "status": "planned"}, "json")
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_transition"
    assert response.json()["missing"] == ["owner", "ticket"]
    assert not Intent.objects.filter(pk="x2").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": "has space"}, "id"),
        ({"id": "x" * 129}, "id"),
        ({"id": "stale"}, "id"),
        ({"code": "f821"}, "code"),
        ({"code": "TOOLONG1"}, "code"),
        ({"code": "F12345"}, "code"),
        ({"file": "../secrets.py"}, "file"),
        ({"file": "a/../../b.py"}, "file"),
        ({"file": "/etc/passwd"}, "file"),
        ({"file": "C:\\x.py"}, "file"),
        ({"line": 0}, "line"),
        ({"line": -3}, "line"),
        ({"line": "many"}, "line"),
        ({"type": "other"}, "type"),
        ({"status": "done"}, "status"),
        ({"eta": "soon"}, "eta"),
        ({"raw": [1, 2]}, "raw"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"modified_at": "2020-01-01T00:00:00Z"}, "modified_at"),
        ({"resolved_at": "2020-01-01T00:00:00Z"}, "resolved_at"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_create_validation_errors(key_client, change, field) -> None:
    response = key_client.post("/intents", {**SEED_BODY, **change}, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["fields"]
    assert not Intent.objects.exists()


def test_create_missing_fields_and_non_object(key_client) -> None:
    response = key_client.post("/intents", {"id": "T4-1"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"code", "file", "line"}
    response = key_client.post("/intents", [SEED_BODY], format="json")
    assert response.status_code == 400
    response = key_client.post("/intents", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert not Intent.objects.exists()


def test_unknown_code_is_accepted(key_client) -> None:
    response = key_client.post("/intents", {**SEED_BODY, "code": "UNKNOWN"}, format="json")
    assert response.status_code == 201


# --- auth and scopes --------------------------------------------------------------------------
def test_auth_and_scopes(api_client, read_client, nothing_client, make_intent) -> None:
    make_intent(id="T4-r")
    assert api_client.get("/intents").status_code == 401
    api_client.credentials(HTTP_X_T4_API_KEY="t4_abcdefgh_" + "x" * 40)
    assert api_client.get("/intents").status_code == 403
    for path in ("/intents", "/intents/T4-r", "/intents/stale", "/metrics/summary"):
        assert read_client.get(path).status_code == 200, path
        response = nothing_client.get(path)
        assert response.status_code == 403, path
        assert response.json()["error"] == "missing_scope"
    response = read_client.post("/intents", SEED_BODY, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "missing_scope"
    response = read_client.patch("/intents/T4-r", {"owner": "@me"}, format="json")
    assert response.status_code == 403
    assert Intent.objects.get(pk="T4-r").owner == "@team"
    assert not Intent.objects.filter(pk="T4-test-1").exists()


# --- GET /intents/{id} ------------------------------------------------------------------------
def test_get_one_and_404(key_client, make_intent) -> None:
    make_intent(id="T4:a.b_c-1", code="B904")
    response = key_client.get("/intents/T4:a.b_c-1")
    assert response.status_code == 200
    assert response.json()["code"] == "B904"
    response = key_client.get("/intents/missing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- PATCH /intents/{id} ----------------------------------------------------------------------
def test_patch_fields_and_transition(key_client, make_intent) -> None:
    make_intent(id="T4-p", owner="", ticket="")
    response = key_client.patch(
        "/intents/T4-p",
        {"owner": "@core", "ticket": "GH-1", "status": "planned", "eta": "2031-01-01"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["owner"], body["eta"]) == ("planned", "@core", "2031-01-01")
    row = Intent.objects.get(pk="T4-p")
    assert (row.status, row.ticket) == ("planned", "GH-1")
    response = key_client.patch("/intents/T4-p", {"status": "implemented"}, format="json")
    assert response.json()["resolved_at"] is not None


def test_patch_illegal_transition_is_422(key_client, make_intent) -> None:
    make_intent(id="T4-i", status="implemented")
    response = key_client.patch("/intents/T4-i", {"status": "accepted"}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_transition"
    assert (body["from"], body["to"], body["allowed"]) == ("implemented", "accepted", ["planned"])
    assert Intent.objects.get(pk="T4-i").status == "implemented"


def test_patch_to_expired_before_the_expiry_is_422(key_client, make_intent) -> None:
    expires = timezone.now() + timedelta(days=30)
    make_intent(id="T4-w", status="accepted", expires_at=expires)
    response = key_client.patch("/intents/T4-w", {"status": "expired"}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_transition"
    assert (body["from"], body["to"]) == ("accepted", "expired")
    assert "expires_at" in body["detail"]
    assert Intent.objects.get(pk="T4-w").status == "accepted"


def test_patch_rule_violation_is_422(key_client, make_intent) -> None:
    make_intent(id="T4-v", status="committed")
    response = key_client.patch("/intents/T4-v", {"owner": ""}, format="json")
    assert response.status_code == 422
    assert response.json()["error"] == "rule_violation"
    assert Intent.objects.get(pk="T4-v").owner == "@team"


@pytest.mark.parametrize(
    "body",
    [
        {"id": "other"},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"modified_at": "2020-01-01T00:00:00Z"},
        {"line": 0},
        {"file": "../x.py"},
        {"status": "nonsense"},
        {"nope": 1},
    ],
)
def test_patch_validation_errors(key_client, make_intent, body) -> None:
    intent = make_intent(id="T4-b")
    response = key_client.patch("/intents/T4-b", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert Intent.objects.get(pk="T4-b").modified_at == intent.modified_at


def test_patch_unknown_is_404(key_client) -> None:
    response = key_client.patch("/intents/nope", {"owner": "@x"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_patch_waiver_defaults_expiry(forever_client, make_intent) -> None:
    make_intent(id="T4-w", reason="DI pattern of FastAPI")
    with time_machine.travel("2032-02-02 00:00Z", tick=False):
        response = forever_client.patch("/intents/T4-w", {"status": "accepted"}, format="json")
    assert response.status_code == 200
    assert response.json()["expires_at"] == "2032-05-02T00:00:00Z"


# --- DELETE /intents/{id} ---------------------------------------------------------------------
def test_delete_needs_admin(key_client, admin_client_api, make_intent) -> None:
    make_intent(id="T4-d")
    assert key_client.delete("/intents/T4-d").status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_X_T4_ADMIN_TOKEN="wrong")
    response = wrong.delete("/intents/T4-d")
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_admin_token"
    assert Intent.objects.filter(pk="T4-d").exists()
    assert admin_client_api.delete("/intents/T4-d").status_code == 204
    assert not Intent.objects.filter(pk="T4-d").exists()
    entry = LogEntry.objects.get(object_pk="T4-d", action=LogEntry.Action.DELETE)
    assert entry.additional_data["actor"] == "admin-token"
    response = admin_client_api.delete("/intents/T4-d")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_delete_with_seed_query_token(api_client, admin_token, make_intent) -> None:
    make_intent(id="T4-q")
    assert api_client.delete(f"/intents/T4-q?admin_token={admin_token}").status_code == 204


# --- GET /intents (list) ----------------------------------------------------------------------
def test_list_filters_and_pagination(key_client, make_intent) -> None:
    make_intent(id="a1", status="planned", owner="@x", code="F401", file="x.py")
    make_intent(id="a2", status="accepted", owner="@y", code="B008", file="y.py", ticket="ZZ-9")
    make_intent(id="a3", status="reserved", owner="@x", code="B008", file="x.py")
    ids = lambda r: [item["id"] for item in r.json()["results"]]  # noqa: E731
    assert ids(key_client.get("/intents")) == ["a3", "a2", "a1"]
    assert ids(key_client.get("/intents?status=planned,accepted")) == ["a2", "a1"]
    assert ids(key_client.get("/intents?owner=@x&code=B008")) == ["a3"]
    assert ids(key_client.get("/intents?file=x.py")) == ["a3", "a1"]
    assert ids(key_client.get("/intents?q=zz-9")) == ["a2"]
    page = key_client.get("/intents?limit=2").json()
    assert page["count"] == 3
    assert [i["id"] for i in page["results"]] == ["a3", "a2"]
    assert "offset=2" in page["next"]
    assert page["previous"] is None
    page = key_client.get("/intents?limit=2&offset=2").json()
    assert [i["id"] for i in page["results"]] == ["a1"]
    assert page["next"] is None


def test_list_bad_query_is_400(key_client) -> None:
    for query in ("status=bogus", "limit=0", "limit=x", "offset=-1", "frobnicate=1"):
        response = key_client.get(f"/intents?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"] == "validation_error"


def test_list_limit_is_capped(key_client, make_intent) -> None:
    response = key_client.get("/intents?limit=100000")
    assert response.status_code == 200


def test_stale_flag_filter(key_client, make_intent) -> None:
    make_intent(id="s1", stale_since=timezone.now())
    make_intent(id="s2")
    assert [i["id"] for i in key_client.get("/intents?stale=true").json()["results"]] == ["s1"]
    assert [i["id"] for i in key_client.get("/intents?stale=false").json()["results"]] == ["s2"]


# key lookup, COUNT, the page (created_by joined), the request-log row
LIST_QUERIES = 4


@pytest.mark.parametrize("path", ["/intents", "/intents/by_file?file=big.py"])
def test_list_query_count_is_constant(
    key_client, issued_key, make_intent, django_assert_num_queries, path
) -> None:
    key_client.get("/intents")  # last_used_at is touched once a minute: settle it first
    make_intent(file="big.py")
    with django_assert_num_queries(LIST_QUERIES):
        assert key_client.get(path).json()["count"] == 1
    for n in range(40):
        make_intent(file="big.py", code="F401" if n % 2 else "B008", created_by=issued_key.api_key)
    with django_assert_num_queries(LIST_QUERIES):
        assert key_client.get(path).json()["count"] == 41


# --- GET /intents/stale, by_owner, by_file ----------------------------------------------------
def test_stale_under_controlled_time(forever_client, make_intent) -> None:
    with time_machine.travel("2033-01-01 00:00Z", tick=False):
        make_intent(id="old-open", status="planned")
        make_intent(id="old-done", status="implemented")
        make_intent(id="old-waiver", status="accepted")
    with time_machine.travel("2033-01-10 00:00Z", tick=False):
        make_intent(id="older-reserved", status="reserved", modified_at=timezone.now())
    with time_machine.travel("2033-02-05 00:00Z", tick=False):
        make_intent(id="fresh", status="committed")
        response = forever_client.get("/intents/stale?days=30")
        assert [i["id"] for i in response.json()["results"]] == ["old-open"]
        response = forever_client.get("/intents/stale?days=20")
        assert [i["id"] for i in response.json()["results"]] == ["old-open", "older-reserved"]
        default = forever_client.get("/intents/stale").json()
        assert [i["id"] for i in default["results"]] == ["old-open"]
    with time_machine.travel("2033-02-20 00:00Z", tick=False):
        # Touching it through the API resets its clock.
        forever_client.patch("/intents/old-open", {"suggestion": "soon"}, format="json")
        response = forever_client.get("/intents/stale?days=30")
        assert [i["id"] for i in response.json()["results"]] == ["older-reserved"]
    assert forever_client.get("/intents/stale?days=-1").status_code == 400
    assert forever_client.get("/intents/stale?days=abc").status_code == 400


def test_by_owner_newest_first(key_client, make_intent) -> None:
    now = timezone.now()
    make_intent(id="o1", owner="@org/team", created_at=now - timedelta(days=2))
    make_intent(id="o2", owner="@org/team", created_at=now - timedelta(days=1))
    make_intent(id="o3", owner="@else")
    response = key_client.get("/intents/by_owner/@org/team")
    assert response.status_code == 200
    assert [i["id"] for i in response.json()["results"]] == ["o2", "o1"]
    assert key_client.get("/intents/by_owner/@nobody").json()["count"] == 0


def test_by_file_ordered_by_line(key_client, make_intent) -> None:
    make_intent(id="f3", file="lukhas/core/foo.py", line=30)
    make_intent(id="f1", file="lukhas/core/foo.py", line=1)
    make_intent(id="f2", file="lukhas/core/foo.py", line=12)
    make_intent(id="g1", file="lukhas/core/bar.py", line=1)
    response = key_client.get("/intents/by_file?file=lukhas/core/foo.py")
    assert response.status_code == 200
    assert [i["id"] for i in response.json()["results"]] == ["f1", "f2", "f3"]
    response = key_client.get("/intents/by_file")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]
