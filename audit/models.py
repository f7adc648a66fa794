from __future__ import annotations

from django.db import models


class RequestLog(models.Model):
    """One row per HTTP request, written by ``audit.middleware.RequestLogMiddleware``.

    Secrets never reach this table: the query string and body are redacted first and API keys
    are reduced to their public prefix.
    """

    time = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    query = models.TextField(blank=True, help_text="Query string with secrets redacted.")
    status = models.PositiveSmallIntegerField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    key_prefix = models.CharField(max_length=32, blank=True, db_index=True)
    agent_id = models.CharField(max_length=128, blank=True)
    duration_ms = models.FloatField()
    body = models.TextField(blank=True, help_text="JSON body, redacted and capped in size.")
    user_agent = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["-time"]
        indexes = [
            models.Index(fields=["status", "time"], name="requestlog_status_time"),
            models.Index(fields=["path", "time"], name="requestlog_path_time"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
