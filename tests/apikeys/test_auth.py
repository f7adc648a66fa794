"""Authentication, scopes and the /whoami endpoint."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apikeys.models import APIKey
from apikeys.services import apikey_revoke, apikey_rotate
from audit.actor import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_with_errors")]


def test_missing_key_is_401_with_json_error(api_client):
    response = api_client.get("/whoami")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert "WWW-Authenticate" in response.headers


def test_valid_key_header_and_bearer(api_client, issued_key):
    for headers in (
        {"HTTP_X_T4_API_KEY": issued_key.secret},
        {"HTTP_AUTHORIZATION": f"Bearer {issued_key.secret}"},
    ):
        response = api_client.get("/whoami", **headers)
        assert response.status_code == 200, response.content
        assert response.json()["agent_id"] == "agent-1"


@pytest.mark.parametrize(
    "bad",
    ["t4_abcdefgh_" + "x" * 43, "nonsense", "Bearer", "t4_" + "a" * 200],
)
def test_unknown_key_is_403(api_client, issued_key, bad):
    response = api_client.get("/whoami", HTTP_X_T4_API_KEY=bad)
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_api_key"


def test_tampered_secret_with_real_prefix_is_403(api_client, issued_key):
    tampered = issued_key.secret[:-2] + ("AA" if not issued_key.secret.endswith("AA") else "BB")
    response = api_client.get("/whoami", HTTP_X_T4_API_KEY=tampered)
    assert response.status_code == 403


def test_revoked_key_is_403_at_once(api_client, issued_key):
    assert api_client.get("/whoami", HTTP_X_T4_API_KEY=issued_key.secret).status_code == 200
    apikey_revoke(api_key=issued_key.api_key, actor=Actor.system("tests"))
    response = api_client.get("/whoami", HTTP_X_T4_API_KEY=issued_key.secret)
    assert response.status_code == 403
    assert response.json()["error"] == "key_revoked"


def test_rotated_key_old_secret_403_new_secret_200(api_client, issued_key):
    rotated = apikey_rotate(api_key=issued_key.api_key, actor=Actor.system("tests"))
    assert api_client.get("/whoami", HTTP_X_T4_API_KEY=issued_key.secret).status_code == 403
    assert api_client.get("/whoami", HTTP_X_T4_API_KEY=rotated.secret).status_code == 200


def test_expired_key_is_403(api_client, make_key):
    issued = make_key(expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = api_client.get("/whoami", HTTP_X_T4_API_KEY=issued.secret)
    assert response.status_code == 403
    assert response.json()["error"] == "key_expired"


def test_scope_is_enforced(api_client, make_key):
    reader = make_key("reader", scopes=["intents:read"])
    writer = make_key("writer", scopes=["intents:write"])
    response = api_client.get("/test/needs-intents-write", HTTP_X_T4_API_KEY=reader.secret)
    assert response.status_code == 403
    assert response.json() == {
        "error": "missing_scope",
        "detail": "This API key lacks the 'intents:write' scope.",
    }
    response = api_client.get("/test/needs-intents-write", HTTP_X_T4_API_KEY=writer.secret)
    assert response.status_code == 200


def test_whoami_body(api_client, make_key):
    issued = make_key("agent-w", owner="@lead", scopes=["llm:call"], rate_per_minute=30)
    response = api_client.get("/whoami", HTTP_X_T4_API_KEY=issued.secret)
    body = response.json()
    assert body["prefix"] == issued.api_key.display_prefix
    assert body["agent_id"] == "agent-w"
    assert body["owner"] == "@lead"
    assert body["scopes"] == ["llm:call"]
    assert body["status"] == "active"
    assert body["daily_limit"] == "100.00"
    assert body["rate"]["limit"] == 30
    assert body["rate"]["remaining"] == 29
    assert Decimal(body["spent_today"]) == Decimal("0")
    assert Decimal(body["reserved_today"]) == Decimal("0")
    assert Decimal(body["remaining_today"]) == Decimal("100")
    assert "key" not in body and "key_hash" not in body


def test_last_used_at_is_recorded(api_client, issued_key):
    assert APIKey.objects.get(pk=issued_key.api_key.pk).last_used_at is None
    api_client.get("/whoami", HTTP_X_T4_API_KEY=issued_key.secret)
    assert APIKey.objects.get(pk=issued_key.api_key.pk).last_used_at is not None


def test_an_empty_key_header_does_not_hide_a_bearer_key(api_client, issued_key) -> None:
    response = api_client.get(
        "/whoami", HTTP_X_T4_API_KEY="  ", HTTP_AUTHORIZATION=f"Bearer {issued_key.secret}"
    )
    assert response.status_code == 200, response.content
    assert response.json()["agent_id"] == issued_key.api_key.agent_id
