"""The intent registry: one row per lint finding that is deliberately left in the code."""

from __future__ import annotations

import re

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim
from django.db.models.lookups import In
from django.utils import timezone

ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Ruff rule codes (prefixes up to ASYNC: ASYNC100, FURB101, …), or UNKNOWN.
CODE_RE = re.compile(r"^(?:[A-Z]{1,6}[0-9]{1,4}|UNKNOWN)$")
# Path segments of the list endpoints; an intent with one of these ids could never be read.
RESERVED_IDS = frozenset({"stale", "by_file", "by_owner"})
# The API's limit for the free-text fields (import text, reason, suggestion), which the
# database does not bound.
TEXT_LIMIT = 10_000

# SPEC "Intents": generic reasons, compared case-insensitively after trimming.
GENERIC_REASONS = frozenset(
    {"", "todo", "fixme", "fix me", "kept for future", "kept for future use", "placeholder"}
)


class IntentStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    PLANNED = "planned", "Planned"
    COMMITTED = "committed", "Committed"
    ACCEPTED = "accepted", "Accepted (waiver)"
    EXPIRED = "expired", "Expired waiver"
    IMPLEMENTED = "implemented", "Implemented"


# "Open" intents are the ones the stale report watches (SPEC: reserved/planned/committed).
OPEN_STATUSES: tuple[str, ...] = (
    IntentStatus.RESERVED,
    IntentStatus.PLANNED,
    IntentStatus.COMMITTED,
)


# Statuses whose annotation must name a ticket to pass quality: everything but a bare
# reservation (a waiver is tracked by a ticket too) and implemented (not scored at all).
TICKET_REQUIRED: tuple[str, ...] = (
    IntentStatus.PLANNED,
    IntentStatus.COMMITTED,
    IntentStatus.ACCEPTED,
    IntentStatus.EXPIRED,
)


def quality_rule() -> Q:
    """The per-intent quality rule (see ``intents.selectors.metrics_summary``).

    It is a stored generated column, so the database keeps it right on every write path
    (services, bulk_create, QuerySet.update, imports) and the summary reads only an index.
    """
    return (
        ~Q(owner="")
        & ~Q(In(Lower(Trim("reason")), sorted(GENERIC_REASONS)))
        & (~Q(status__in=TICKET_REQUIRED) | ~Q(ticket=""))
    )


class IntentType(models.TextChoices):
    LINT = "lint", "Lint finding"
    IMPORT = "import", "Unused import"


class Intent(models.Model):
    id = models.CharField(
        primary_key=True,
        max_length=128,
        validators=[RegexValidator(ID_RE, "1-128 characters of A-Z a-z 0-9 . _ : -")],
    )
    code = models.CharField(
        max_length=16,
        validators=[RegexValidator(CODE_RE, "A ruff rule code such as F821, or UNKNOWN.")],
    )
    type = models.CharField(max_length=16, choices=IntentType.choices, default=IntentType.LINT)
    file = models.CharField(max_length=1024, help_text="Path relative to the repository root.")
    line = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    import_text = models.TextField(blank=True, default="")
    reason_category = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    suggestion = models.TextField(blank=True, default="")
    owner = models.CharField(max_length=128, blank=True, default="")
    ticket = models.CharField(max_length=128, blank=True, default="")
    eta = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=IntentStatus.choices, default=IntentStatus.RESERVED
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Waiver expiry.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    raw = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        "apikeys.APIKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Filled by the stale-intent job; cleared by any change made through the services.
    stale_since = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    quality_ok = models.GeneratedField(
        expression=quality_rule(), output_field=models.BooleanField(), db_persist=True
    )

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["status"], name="intent_status"),
            models.Index(fields=["owner", "-created_at"], name="intent_owner"),
            models.Index(fields=["code"], name="intent_code"),
            models.Index(fields=["file", "line"], name="intent_file_line"),
            models.Index(fields=["status", "modified_at"], name="intent_status_modified"),
            models.Index(fields=["-created_at", "id"], name="intent_created"),
            models.Index(fields=["expires_at"], name="intent_expires"),
            # Covering indexes for /metrics/summary and /intents/stale (oldest first).
            models.Index(fields=["status", "code", "quality_ok"], name="intent_quality"),
            models.Index(fields=["status", "resolved_at", "created_at"], name="intent_resolved"),
            models.Index(fields=["modified_at", "status"], name="intent_modified"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.code} {self.file}:{self.line}, {self.status})"


def is_generic_reason(reason: str | None) -> bool:
    return (reason or "").strip().lower() in GENERIC_REASONS


class QualityReport(models.Model):
    """A validator report (``python -m t4client check --upload``), kept for the trend.

    The headline counts are columns so the dashboards can chart them with plain SQL; the
    summary and metrics blocks are kept whole as the validator produced them.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    uploaded_by = models.ForeignKey(
        "apikeys.APIKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quality_reports",
        editable=False,
    )
    repository = models.CharField(max_length=200, blank=True, db_index=True)
    commit = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=8, help_text="The validator's verdict: pass or fail.")
    report_timestamp = models.DateTimeField(null=True, blank=True)
    total_findings = models.PositiveIntegerField()
    annotated = models.PositiveIntegerField()
    unannotated = models.PositiveIntegerField()
    legacy_format = models.PositiveIntegerField()
    waived = models.PositiveIntegerField()
    quality_issues = models.PositiveIntegerField()
    quality_score = models.FloatField(null=True, blank=True)
    summary = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    sync_result = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["repository", "created_at"], name="report_repo_time")]

    def __str__(self) -> str:
        where = f"{self.repository}@{self.commit[:12]}" if self.repository else "report"
        return f"{where} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"
