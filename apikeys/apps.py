from __future__ import annotations

from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import APIKey

        # The hash is excluded: the audit trail must not become a second copy of it.
        # last_used_at changes through QuerySet.update and would only be noise.
        auditlog.register(APIKey, exclude_fields=["key_hash", "last_used_at"])
