from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apikeys.crypto import hash_key
from apikeys.models import APIKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_api_key_prints_only_the_key():
    out = run("create_api_key", "--agent_id", "test-agent", "--daily_limit", "100")
    key = out.strip()
    assert out.count("\n") <= 1 and " " not in key
    row = APIKey.objects.get()
    assert row.key_hash == hash_key(key)
    assert row.agent_id == "test-agent"
    assert row.daily_limit == Decimal("100.00")
    assert row.created_by == "manage.py"


def test_create_api_key_options():
    run("create_api_key", "--agent_id", "a", "--owner", "platform-team", "--expires_days",
        "30", "--daily_limit", "12.5", "--scopes", "intents:read,llm:call")  # fmt: skip
    row = APIKey.objects.get()
    assert row.owner == "platform-team"
    assert row.scopes == ["intents:read", "llm:call"]
    assert row.daily_limit == Decimal("12.50")


@pytest.mark.parametrize(
    "args",
    [
        ["--agent_id", "a", "--scopes", "root"],
        ["--agent_id", "a", "--daily_limit", "-1"],
        ["--agent_id", "a", "--expires_days", "0"],
    ],
)
def test_create_api_key_rejects_bad_input(args):
    with pytest.raises(CommandError):
        run("create_api_key", *args)
    assert not APIKey.objects.exists()


def test_revoke_api_key_by_prefix(issued_key):
    out = run("revoke_api_key", issued_key.api_key.prefix)
    assert "revoked" in out and issued_key.secret not in out
    assert APIKey.objects.get().revoked_at is not None
    with pytest.raises(CommandError):
        run("revoke_api_key", "nosuchpx")


def test_revoke_all_needs_yes(make_key):
    make_key("a")
    make_key("b")
    with pytest.raises(CommandError):
        run("revoke_all_api_keys")
    assert APIKey.objects.filter(revoked_at__isnull=True).count() == 2
    assert "revoked 2" in run("revoke_all_api_keys", "--yes")
    assert not APIKey.objects.filter(revoked_at__isnull=True).exists()
