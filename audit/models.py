from __future__ import annotations

from django.db import models
from django.db.models import Func, Value
from django.db.models.functions import Coalesce, NullIf, Substr

ROLLUP_PATH_LENGTH = 512
# The route of a request no URL pattern matches (see audit.routes): one value for all of
# them, so probes of random URLs do not each become an endpoint of their own.
ROUTE_UNMATCHED = "<unmatched>"


class RequestLog(models.Model):
    """One row per HTTP request, written by ``audit.middleware.RequestLogMiddleware``.

    Secrets never reach this table: the query string and body are redacted first and API keys
    are reduced to their public prefix.
    """

    time = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    route = models.CharField(
        max_length=ROLLUP_PATH_LENGTH,
        blank=True,
        help_text=(
            "The URL pattern the request matched, e.g. /intents/<str:intent_id>, or "
            f"{ROUTE_UNMATCHED!r}. Empty on rows logged before patterns were recorded."
        ),
    )
    query = models.TextField(blank=True, help_text="Query string with secrets redacted.")
    status = models.PositiveSmallIntegerField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    key_prefix = models.CharField(max_length=32, blank=True)
    agent_id = models.CharField(max_length=128, blank=True)
    duration_ms = models.FloatField()
    body = models.TextField(blank=True, help_text="JSON body, redacted and capped in size.")
    user_agent = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["-time"]
        indexes = [
            models.Index(fields=["status", "time"], name="requestlog_status_time"),
            models.Index(fields=["path", "time"], name="requestlog_path_time"),
            # The dashboards' per-owner activity reads a key's recent requests.
            models.Index(fields=["key_prefix", "time"], name="requestlog_key_time"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


def request_endpoint() -> Func:
    """What request activity is grouped by: the matched URL pattern, so that
    ``/intents/T4-a`` and ``/intents/T4-b`` count as one endpoint; the path (cut at
    ``ROLLUP_PATH_LENGTH``) for rows logged before patterns were recorded.
    """
    return Coalesce(NullIf("route", Value("")), Substr("path", 1, ROLLUP_PATH_LENGTH))


class RequestHourly(models.Model):
    """The hourly roll-up of the request log: one row per UTC hour, method, endpoint and status.

    Written only by ``audit.rollups.requesthourly_rollup``, which recomputes whole hours from
    ``RequestLog``, so the dashboard reads a few rows per hour instead of every request.
    Rows outlive the request log's retention (nothing links them to ``RequestLog``).
    """

    hour = models.DateTimeField(help_text="Start of the UTC hour.")
    method = models.CharField(max_length=10)
    path = models.CharField(
        max_length=ROLLUP_PATH_LENGTH,
        help_text=(
            "Endpoint: the URL pattern the requests matched, or the request path (cut at "
            f"{ROLLUP_PATH_LENGTH} characters) for requests logged before patterns were "
            "recorded (see audit.models.request_endpoint)."
        ),
    )
    status = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()
    total_duration_ms = models.FloatField()
    max_duration_ms = models.FloatField()

    class Meta:
        verbose_name = "request roll-up (hourly)"
        verbose_name_plural = "request roll-ups (hourly)"
        ordering = ["-hour", "path", "method", "status"]
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "method", "path", "status"], name="requesthourly_unique"
            )
        ]
        indexes = [
            # The unique index starts with ``hour`` too; this narrower one serves the
            # dashboard's per-hour sums and ``Max("hour")`` (the roll-up watermark).
            models.Index(fields=["hour", "status"], name="requesthourly_hour_status"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.method} {self.path} {self.status}: {self.count}"
