from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from auditlog.models import LogEntry
from django.utils import timezone

from apikeys.crypto import generate_key, hash_key, key_matches, parse_key
from apikeys.models import ALL_SCOPES, APIKey, KeyStatus
from apikeys.selectors import apikey_get_by_reference, apikey_get_by_secret
from apikeys.services import (
    LEGACY_IMPORT_CREATOR,
    apikey_create,
    apikey_import_legacy,
    apikey_revoke,
    apikey_revoke_all,
    apikey_rotate,
    apikey_touch,
)
from audit.actor import Actor
from t4site.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def test_generated_key_has_public_prefix_and_256_bit_secret():
    key = generate_key("abcd1234")
    parsed = parse_key(key)
    assert parsed is not None and parsed.prefix == "abcd1234"
    secret = key.split("_", 2)[2]
    assert len(secret) >= 43  # token_urlsafe(32): 32 random bytes
    assert key_matches(key, hash_key(key))
    assert not key_matches(key + "x", hash_key(key))


@pytest.mark.parametrize("raw", ["", "t4_short_x", "t4_ABCDEFGH_" + "x" * 40, "legacy-plain-key"])
def test_parse_key_rejects_malformed(raw):
    assert parse_key(raw) is None


def test_create_stores_only_prefix_and_hmac():
    issued = apikey_create(agent_id="agent-a", owner="@team", actor=ACTOR)
    row = APIKey.objects.get(pk=issued.api_key.pk)
    assert issued.secret.startswith(f"t4_{row.prefix}_")
    assert row.key_hash == hash_key(issued.secret)
    assert issued.secret not in str(APIKey.objects.filter(pk=row.pk).values().get())
    assert row.scopes == list(ALL_SCOPES)
    assert row.daily_limit == Decimal("100.00")
    assert row.rate_per_minute == 120
    assert row.created_by == "tests"
    assert timedelta(days=364) < row.expires_at - timezone.now() <= timedelta(days=365)


def test_create_is_audited_without_the_hash():
    issued = apikey_create(agent_id="agent-a", actor=Actor.admin_token())
    entry = LogEntry.objects.get_for_object(issued.api_key).get()
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor_email == "admin-token"
    assert "key_hash" not in entry.changes
    assert issued.api_key.key_hash not in str(entry.changes)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"scopes": ["intents:read", "root"]}, "invalid_scopes"),
        ({"daily_limit": Decimal("-1")}, "invalid_daily_limit"),
        ({"expires_in_days": 0}, "invalid_expiry"),
        ({"agent_id": "  "}, "invalid_agent_id"),
        ({"rate_per_minute": 0}, "invalid_rate"),
        ({"rate_per_minute": -1}, "invalid_rate"),
        ({"rate_per_minute": 2**31}, "invalid_rate"),
    ],
)
def test_create_validates(kwargs, code):
    params = {"agent_id": "agent-a", "actor": ACTOR, **kwargs}
    with pytest.raises(DomainError) as excinfo:
        apikey_create(**params)
    assert excinfo.value.code == code
    assert not APIKey.objects.exists()


def test_lookup_by_secret_and_reference():
    issued = apikey_create(agent_id="agent-a", actor=ACTOR)
    prefix = issued.api_key.prefix
    assert apikey_get_by_secret(raw=issued.secret) == issued.api_key
    # Change the last character (to one it is not: a fixed "A" would match 1 time in 64).
    tampered = issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")
    assert apikey_get_by_secret(raw=tampered) is None
    assert apikey_get_by_reference(reference=prefix) == issued.api_key
    assert apikey_get_by_reference(reference=f"t4_{prefix}") == issued.api_key
    assert apikey_get_by_reference(reference=issued.secret) == issued.api_key
    assert apikey_get_by_reference(reference="nomatch1") is None


def test_legacy_key_without_prefix_is_found_by_hash():
    legacy = "plain-legacy-key-0123456789"
    row = APIKey.objects.create(prefix="legacy-1", key_hash=hash_key(legacy), agent_id="old")
    assert apikey_get_by_secret(raw=legacy) == row
    assert apikey_get_by_secret(raw="plain-legacy-key-other") is None


def test_revoke_is_immediate_idempotent_and_audited():
    issued = apikey_create(agent_id="agent-a", actor=ACTOR)
    revoked = apikey_revoke(api_key=issued.api_key, actor=Actor.admin_token())
    assert revoked.status == KeyStatus.REVOKED
    first = revoked.revoked_at
    again = apikey_revoke(api_key=issued.api_key, actor=ACTOR)
    assert again.revoked_at == first
    updates = LogEntry.objects.get_for_object(issued.api_key).filter(action=LogEntry.Action.UPDATE)
    assert updates.count() == 1
    assert updates.get().actor_email == "admin-token"


def test_rotate_keeps_record_and_kills_old_secret():
    issued = apikey_create(agent_id="agent-a", actor=ACTOR)
    rotated = apikey_rotate(api_key=issued.api_key, actor=ACTOR)
    assert rotated.api_key.pk == issued.api_key.pk
    assert rotated.secret != issued.secret
    assert apikey_get_by_secret(raw=issued.secret) is None
    assert apikey_get_by_secret(raw=rotated.secret) == issued.api_key
    apikey_revoke(api_key=issued.api_key, actor=ACTOR)
    with pytest.raises(DomainError):
        apikey_rotate(api_key=issued.api_key, actor=ACTOR)


def test_revoke_all_revokes_active_and_writes_audit_entries():
    keys = [apikey_create(agent_id=f"agent-{i}", actor=ACTOR) for i in range(3)]
    apikey_revoke(api_key=keys[0].api_key, actor=ACTOR)
    count = apikey_revoke_all(actor=Actor.system("manage.py"))
    assert count == 2
    assert not APIKey.objects.filter(revoked_at__isnull=True).exists()
    bulk = LogEntry.objects.filter(additional_data__bulk="revoke_all")
    assert bulk.count() == 2
    assert set(bulk.values_list("actor_email", flat=True)) == {"manage.py"}


def test_touch_writes_last_used_at_at_most_once_a_minute(django_assert_num_queries):
    issued = apikey_create(agent_id="agent-a", actor=ACTOR)
    key = issued.api_key
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        with django_assert_num_queries(1):
            apikey_touch(api_key=key)
        fresh = APIKey.objects.get(pk=key.pk)
        with django_assert_num_queries(0):
            apikey_touch(api_key=fresh)
    with (
        time_machine.travel("2026-11-24 10:00:30+00:00", tick=False),
        django_assert_num_queries(0),
    ):
        apikey_touch(api_key=fresh)
    with (
        time_machine.travel("2026-11-24 10:01:30+00:00", tick=False),
        django_assert_num_queries(1),
    ):
        apikey_touch(api_key=fresh)
    assert APIKey.objects.get(pk=key.pk).last_used_at.minute == 1


def test_import_legacy_keeps_a_well_formed_key_and_its_prefix():
    secret = generate_key("legacyab")
    key = apikey_import_legacy(
        secret=secret, agent_id=" old-agent ", actor=ACTOR, revoked=False,
        daily_limit=Decimal("5.00"),
    )  # fmt: skip
    assert (key.prefix, key.agent_id, key.created_by) == (
        "legacyab",
        "old-agent",
        LEGACY_IMPORT_CREATOR,
    )
    assert key.key_hash == hash_key(secret) and secret not in str(vars(key))
    assert apikey_get_by_secret(raw=secret) == key
    assert LogEntry.objects.get_for_object(key).get().actor_email == ACTOR.label  # audited


def test_import_legacy_plain_key_is_found_by_hash_and_may_arrive_revoked():
    key = apikey_import_legacy(secret="plain-old-key-42", agent_id="old", actor=ACTOR, revoked=True)
    assert key.prefix == "legacy" + hash_key("plain-old-key-42")[:8]
    assert key.status == KeyStatus.REVOKED
    assert apikey_get_by_secret(raw="plain-old-key-42") == key


def test_import_legacy_refuses_duplicates_and_taken_prefixes():
    issued = apikey_create(agent_id="current", actor=ACTOR)
    with pytest.raises(Conflict, match="already imported"):
        apikey_import_legacy(secret=issued.secret, agent_id="x", actor=ACTOR)
    other = generate_key(issued.api_key.prefix)  # same prefix, different secret
    with pytest.raises(Conflict, match="taken"):
        apikey_import_legacy(secret=other, agent_id="x", actor=ACTOR)
    with pytest.raises(DomainError, match="daily_limit"):
        apikey_import_legacy(secret="k", agent_id="x", actor=ACTOR, daily_limit=Decimal(-1))
    with pytest.raises(DomainError, match="agent_id"):
        apikey_import_legacy(secret="k", agent_id=" ", actor=ACTOR)
    assert APIKey.objects.count() == 1
