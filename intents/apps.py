from __future__ import annotations

from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"
    verbose_name = "Intents"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Intent

        # stale_since is the stale job's flag, not a change anybody made.
        auditlog.register(Intent, exclude_fields=["stale_since"])
