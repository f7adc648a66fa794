from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    INTENTS_READ = "intents:read", "Read intents"
    INTENTS_WRITE = "intents:write", "Create and change intents"
    LLM_CALL = "llm:call", "Call LLMs through the gate"
    REPORTS_WRITE = "reports:write", "Upload validator reports"
    METRICS_READ = "metrics:read", "Read metrics"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)


def default_scopes() -> list[str]:
    return list(ALL_SCOPES)


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class APIKey(models.Model):
    """An agent's credential. The secret itself is never stored, only its HMAC."""

    prefix = models.CharField(
        max_length=32, unique=True, help_text="Public part of the key (t4_<prefix>_…)."
    )
    key_hash = models.CharField(
        max_length=64, unique=True, editable=False, help_text="HMAC-SHA256 of the full key."
    )
    agent_id = models.CharField(max_length=128, db_index=True)
    owner = models.CharField(max_length=128, blank=True, db_index=True)
    scopes = models.JSONField(default=default_scopes, help_text="Granted scopes.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=160, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    daily_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("100.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="LLM budget in USD per UTC day.",
    )
    rate_per_minute = models.PositiveIntegerField(
        default=120, validators=[MinValueValidator(1)], help_text="Requests allowed per minute."
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Updated at most once a minute."
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["revoked_at", "expires_at"], name="apikey_state")]

    def __str__(self) -> str:
        return f"t4_{self.prefix}… ({self.agent_id})"

    # DRF treats the authenticated key as ``request.user``.
    is_authenticated = True
    is_anonymous = False

    @property
    def display_prefix(self) -> str:
        return f"t4_{self.prefix}"

    def status_at(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyStatus.EXPIRED
        return KeyStatus.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at()

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
