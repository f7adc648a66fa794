"""POST/GET /admin/api_keys and DELETE /admin/api_keys/{key or prefix}."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model

from apikeys.crypto import hash_key
from apikeys.models import APIKey

pytestmark = pytest.mark.django_db
SEED_BODY = {"agent_id": "test-admin", "owner": "platform", "expires_in_days": 365,
             "daily_limit": 200.0}  # fmt: skip


def test_seed_create_body_with_query_token(api_client, admin_token):
    response = api_client.post(
        f"/admin/api_keys?admin_token={admin_token}", SEED_BODY, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    row = APIKey.objects.get()
    assert body["key"].startswith(f"t4_{row.prefix}_")
    assert body["prefix"] == f"t4_{row.prefix}"
    assert body["agent_id"] == "test-admin" and body["owner"] == "platform"
    assert body["daily_limit"] == "200.00"
    assert body["status"] == "active"
    assert row.daily_limit == Decimal("200.00")
    assert row.key_hash == hash_key(body["key"])
    assert row.created_by == "admin-token"
    assert LogEntry.objects.get_for_object(row).get().actor_email == "admin-token"


def test_create_with_header_token_and_scopes(admin_client_api):
    response = admin_client_api.post(
        "/admin/api_keys", {"agent_id": "a", "scopes": ["intents:read"]}, format="json"
    )
    assert response.status_code == 201
    assert APIKey.objects.get().scopes == ["intents:read"]


def test_missing_token_401_wrong_token_403(api_client):
    response = api_client.post("/admin/api_keys", SEED_BODY, format="json")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    response = api_client.post(
        "/admin/api_keys", SEED_BODY, format="json", HTTP_X_T4_ADMIN_TOKEN="wrong"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_admin_token"
    response = api_client.get("/admin/api_keys?admin_token=")
    assert response.status_code == 403
    assert not APIKey.objects.exists()


def test_agent_key_is_not_an_admin_token(api_client, issued_key):
    response = api_client.get("/admin/api_keys", HTTP_X_T4_API_KEY=issued_key.secret)
    assert response.status_code == 401


def test_empty_configured_token_never_matches(api_client, settings):
    settings.T4_ADMIN_TOKEN = ""
    response = api_client.get("/admin/api_keys", HTTP_X_T4_ADMIN_TOKEN="")
    assert response.status_code == 403


def test_staff_session_is_admin(client):
    staff = get_user_model().objects.create_user("lead", password="pw-123456789", is_staff=True)
    client.force_login(staff)
    response = client.get("/admin/api_keys")
    assert response.status_code == 200
    plain = get_user_model().objects.create_user("dev", password="pw-123456789")
    client.force_login(plain)
    assert client.get("/admin/api_keys").status_code == 401


def test_staff_session_post_needs_csrf(db):
    from django.test import Client

    staff = get_user_model().objects.create_user("lead", password="pw-123456789", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post(
        "/admin/api_keys", json.dumps(SEED_BODY), content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert not APIKey.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent_id": "a", "scopes": ["root"]}, "scopes"),
        ({"agent_id": "a", "scopes": "intents:read"}, "scopes"),
        ({"agent_id": "a", "daily_limit": -5}, "daily_limit"),
        ({"agent_id": "a", "daily_limit": "lots"}, "daily_limit"),
        ({"agent_id": "a", "daily_limit": 1.234}, "daily_limit"),
        ({"agent_id": "a", "expires_in_days": "ten"}, "expires_in_days"),
        ({"agent_id": "a", "expires_in_days": 0}, "expires_in_days"),
        ({"agent_id": "a", "rate_per_minute": 0}, "rate_per_minute"),
        ({"agent_id": "x" * 129}, "agent_id"),
        ({"owner": "nobody"}, "agent_id"),
        ({"agent_id": "a", "admin": True}, "admin"),
    ],
)
def test_bad_input_is_json_400_naming_the_field(admin_client_api, body, field):
    response = admin_client_api.post("/admin/api_keys", body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["error"] == "validation_error"
    assert field in payload["fields"]
    assert not APIKey.objects.exists()


def test_malformed_json_and_wrong_shapes(admin_client_api):
    response = admin_client_api.post(
        "/admin/api_keys", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    response = admin_client_api.post("/admin/api_keys", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    response = admin_client_api.post("/admin/api_keys", "agent_id=a", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_oversize_body_is_rejected_before_parsing(admin_client_api, settings):
    settings.T4_MAX_BODY_BYTES = 1024
    body = json.dumps({"agent_id": "a", "owner": "x" * 5000})
    response = admin_client_api.post("/admin/api_keys", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert not APIKey.objects.exists()


def test_list_never_returns_secrets_and_has_constant_queries(
    admin_client_api, make_key, django_assert_num_queries
):
    issued = [make_key(f"agent-{i}") for i in range(5)]
    with django_assert_num_queries(2):  # the key list + the request-log insert
        response = admin_client_api.get("/admin/api_keys")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    text = response.content.decode()
    for item in issued:
        assert item.secret not in text
        assert item.api_key.key_hash not in text
    assert {"key", "key_hash"}.isdisjoint(body["results"][0])
    make_key("agent-x")
    with django_assert_num_queries(2):
        admin_client_api.get("/admin/api_keys")


@pytest.mark.parametrize("form", ["prefix", "display_prefix", "full_key"])
def test_revoke_by_prefix_or_full_key(admin_client_api, api_client, issued_key, form):
    reference = {
        "prefix": issued_key.api_key.prefix,
        "display_prefix": issued_key.api_key.display_prefix,
        "full_key": issued_key.secret,
    }[form]
    response = admin_client_api.delete(f"/admin/api_keys/{reference}")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert APIKey.objects.get().revoked_at is not None
    assert api_client.get("/whoami", HTTP_X_T4_API_KEY=issued_key.secret).status_code == 403


def test_revoke_unknown_is_404(admin_client_api, issued_key):
    response = admin_client_api.delete("/admin/api_keys/zzzzzzzz")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    wrong_secret = issued_key.secret[:-3] + "zzz"
    assert admin_client_api.delete(f"/admin/api_keys/{wrong_secret}").status_code == 404
    assert APIKey.objects.get().revoked_at is None


def test_a_key_pasted_into_a_data_field_is_refused(admin_client_api, issued_key):
    response = admin_client_api.post(
        "/admin/api_keys", {"agent_id": "b", "owner": f"see {issued_key.secret}"}, format="json"
    )
    assert response.status_code == 400
    assert "owner" in response.json()["fields"]
    assert APIKey.objects.count() == 1
