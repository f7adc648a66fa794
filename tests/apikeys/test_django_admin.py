"""The Django admin for API keys: one-time secret page, actions, no hash on screen."""

from __future__ import annotations

import re

import pytest
from auditlog.models import LogEntry

from apikeys.crypto import hash_key
from apikeys.models import APIKey

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/apikeys/apikey/"


def issued_keys(html: str) -> list[str]:
    return re.findall(r'<code class="t4-issued-key">([^<]+)</code>', html)


def test_add_form_shows_the_key_once(admin_client):
    response = admin_client.post(
        f"{CHANGELIST}add/",
        {
            "agent_id": "agent-admin",
            "owner": "@platform",
            "scopes": ["intents:read", "llm:call"],
            "expires_in_days": "30",
            "daily_limit": "50.00",
            "rate_per_minute": "60",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    keys = issued_keys(response.content.decode())
    assert len(keys) == 1
    row = APIKey.objects.get()
    assert row.key_hash == hash_key(keys[0])
    assert row.scopes == ["intents:read", "llm:call"]
    assert row.created_by == "user:admin"
    assert LogEntry.objects.get_for_object(row).get().actor.username == "admin"
    change = admin_client.get(f"{CHANGELIST}{row.pk}/change/").content.decode()
    assert keys[0] not in change and row.key_hash not in change


def test_changelist_shows_status_and_never_the_hash(admin_client, make_key):
    issued = make_key("agent-list", owner="@owners")
    html = admin_client.get(CHANGELIST).content.decode()
    assert "agent-list" in html and "@owners" in html and "active" in html
    assert issued.api_key.key_hash not in html and issued.secret not in html
    assert admin_client.get(f"{CHANGELIST}?status=revoked").status_code == 200
    assert admin_client.get(f"{CHANGELIST}?q=agent-list").status_code == 200


def test_revoke_and_rotate_actions(admin_client, make_key):
    first, second = make_key("one"), make_key("two")
    response = admin_client.post(
        CHANGELIST,
        {"action": "rotate_keys", "_selected_action": [first.api_key.pk, second.api_key.pk]},
    )
    assert response.status_code == 200
    new_keys = issued_keys(response.content.decode())
    assert len(new_keys) == 2
    hashes = set(APIKey.objects.values_list("key_hash", flat=True))
    assert hashes == {hash_key(k) for k in new_keys}
    response = admin_client.post(
        CHANGELIST, {"action": "revoke_keys", "_selected_action": [first.api_key.pk]}
    )
    assert response.status_code == 302
    assert APIKey.objects.get(pk=first.api_key.pk).revoked_at is not None
    assert APIKey.objects.get(pk=second.api_key.pk).revoked_at is None


def test_keys_cannot_be_deleted_in_admin(admin_client, issued_key):
    response = admin_client.get(f"{CHANGELIST}{issued_key.api_key.pk}/delete/")
    assert response.status_code == 403
