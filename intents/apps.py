from __future__ import annotations

from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"
    verbose_name = "Intents"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import Intent

        # stale_since is the stale job's flag and quality_ok is derived: not changes anyone made.
        auditlog.register(Intent, exclude_fields=["stale_since", "quality_ok"])
