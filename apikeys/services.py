"""API key writes. Every change goes through here so it is validated and audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.actor import Actor
from audit.services import AuditedChange, auditlog_record_bulk
from t4site.db import MAX_INT_COLUMN
from t4site.errors import Conflict, DomainError

from .crypto import generate_key, generate_prefix, hash_key, parse_key
from .models import ALL_SCOPES, APIKey

MAX_EXPIRY_DAYS = 3650
MAX_DAILY_LIMIT = Decimal("1000000")
MAX_RATE_PER_MINUTE = MAX_INT_COLUMN  # what the column holds; the API allows up to 100,000


@dataclass(frozen=True)
class IssuedKey:
    """A key record with its full secret; the only moment the secret exists in memory."""

    api_key: APIKey
    secret: str


def _validate(
    *,
    agent_id: str,
    scopes: list[str],
    expires_in_days: int | None,
    daily_limit: Decimal,
    rate_per_minute: int | None = None,
) -> None:
    if not agent_id.strip():
        raise DomainError("agent_id must not be empty.", code="invalid_agent_id")
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise DomainError(f"Unknown scopes: {', '.join(unknown)}.", code="invalid_scopes")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise DomainError(
            f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}.", code="invalid_expiry"
        )
    if not Decimal("0") <= daily_limit <= MAX_DAILY_LIMIT:
        raise DomainError(
            f"daily_limit must be between 0 and {MAX_DAILY_LIMIT}.", code="invalid_daily_limit"
        )
    # Checked here, not only by the API: a command line or a script calls the service too.
    if rate_per_minute is not None and (
        isinstance(rate_per_minute, bool) or not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE
    ):
        raise DomainError(
            f"rate_per_minute must be between 1 and {MAX_RATE_PER_MINUTE:,}.",
            code="invalid_rate",
        )


@transaction.atomic
def apikey_create(
    *,
    agent_id: str,
    actor: Actor,
    owner: str = "",
    scopes: list[str] | None = None,
    expires_in_days: int | None = 365,
    daily_limit: Decimal = Decimal("100.00"),
    rate_per_minute: int = 120,
) -> IssuedKey:
    scopes = list(dict.fromkeys(scopes if scopes is not None else ALL_SCOPES))
    _validate(
        agent_id=agent_id,
        scopes=scopes,
        expires_in_days=expires_in_days,
        daily_limit=daily_limit,
        rate_per_minute=rate_per_minute,
    )
    now = timezone.now()
    expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
    # A prefix collision is astronomically rare, but retry rather than fail the admin.
    for _attempt in range(5):
        prefix = generate_prefix()
        secret = generate_key(prefix)
        try:
            with transaction.atomic(), actor.audit_context():
                key = APIKey.objects.create(
                    prefix=prefix,
                    key_hash=hash_key(secret),
                    agent_id=agent_id.strip(),
                    owner=owner.strip(),
                    scopes=scopes,
                    created_at=now,
                    created_by=actor.label[:160],
                    expires_at=expires_at,
                    daily_limit=daily_limit,
                    rate_per_minute=rate_per_minute,
                )
        except IntegrityError:
            continue
        return IssuedKey(api_key=key, secret=secret)
    raise DomainError("Could not allocate a unique key prefix.", code="prefix_exhausted")


LEGACY_IMPORT_CREATOR = "import:legacy-registry"


@transaction.atomic
def apikey_import_legacy(
    *,
    secret: str,
    agent_id: str,
    actor: Actor,
    owner: str = "",
    created_at: datetime | None = None,
    expires_at: datetime | None = None,
    revoked: bool = False,
    daily_limit: Decimal = Decimal("100.00"),
) -> APIKey:
    """Adopt a key from the legacy registry so the agent keeps using it: only its HMAC is
    stored, as for keys issued here.

    A well-formed ``t4_<prefix>_…`` key keeps its prefix (lookup is by prefix); any other key
    gets ``legacy`` + 8 hex characters of its hash and is found by hash. Raises ``Conflict``
    when the key was imported already or its prefix belongs to another key, and
    ``DomainError`` for invalid values.
    """
    secret, agent_id = secret.strip(), agent_id.strip()
    if not secret:
        raise DomainError("The legacy key is empty.", code="invalid_key")
    _validate(agent_id=agent_id, scopes=[], expires_in_days=None, daily_limit=daily_limit)
    digest = hash_key(secret)
    if APIKey.objects.filter(key_hash=digest).exists():
        raise Conflict("Key already imported.", code="already_imported")
    parsed = parse_key(secret)
    prefix = parsed.prefix if parsed else f"legacy{digest[:8]}"
    if APIKey.objects.filter(prefix=prefix).exists():
        raise Conflict(f"The prefix {prefix} is taken by another key.", code="prefix_taken")
    now = timezone.now()
    try:
        with transaction.atomic(), actor.audit_context():
            return APIKey.objects.create(
                prefix=prefix,
                key_hash=digest,
                agent_id=agent_id[:128],
                owner=owner.strip()[:128],
                scopes=list(ALL_SCOPES),
                created_at=created_at or now,
                created_by=LEGACY_IMPORT_CREATOR,
                expires_at=expires_at,
                revoked_at=now if revoked else None,
                daily_limit=daily_limit,
            )
    except IntegrityError as exc:  # a concurrent import of the same key won the race
        raise Conflict(f"The database refused the key: {exc}", code="already_imported") from exc


@transaction.atomic
def apikey_revoke(*, api_key: APIKey, actor: Actor) -> APIKey:
    """Revoke a key at once. Revoking a revoked key is a no-op (idempotent)."""
    locked = APIKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        with actor.audit_context():
            locked.save(update_fields=["revoked_at"])
    return locked


@transaction.atomic
def apikey_rotate(*, api_key: APIKey, actor: Actor) -> IssuedKey:
    """Give the record a new secret; the old secret stops working with this commit."""
    locked = APIKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked_at is not None:
        raise DomainError("A revoked key cannot be rotated.", code="key_revoked")
    secret = generate_key(locked.prefix)
    locked.key_hash = hash_key(secret)
    locked.rotated_at = timezone.now()
    with actor.audit_context():
        locked.save(update_fields=["key_hash", "rotated_at"])
    return IssuedKey(api_key=locked, secret=secret)


@transaction.atomic
def apikey_revoke_all(*, actor: Actor) -> int:
    """Emergency rollback: revoke every active key in one statement, audited explicitly.

    ``QuerySet.update`` bypasses model signals, so the audit entries are written here.
    """
    now = timezone.now()
    active = APIKey.objects.select_for_update().filter(revoked_at__isnull=True)
    rows = list(active.values_list("pk", "prefix", "agent_id"))
    count = active.update(revoked_at=now)
    auditlog_record_bulk(
        model=APIKey,
        changes=(
            AuditedChange(
                object_pk=pk,
                object_repr=f"t4_{prefix}… ({agent_id})",
                changes={"revoked_at": ["None", now.isoformat()]},
                text="revoked by revoke_all",
            )
            for pk, prefix, agent_id in rows
        ),
        actor=actor,
        extra={"bulk": "revoke_all"},
        at=now,
    )
    return count


def apikey_touch(*, api_key: APIKey) -> None:
    """Record use at most once a minute per key, with a conditional UPDATE.

    Not audited and not atomic on purpose: it runs on the hot path of every request and
    a lost update costs nothing.
    """
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < timedelta(minutes=1):
        return
    cutoff = now - timedelta(minutes=1)
    APIKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff), pk=api_key.pk
    ).update(last_used_at=now)
    api_key.last_used_at = now
