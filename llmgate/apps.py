from __future__ import annotations

from django.apps import AppConfig


class LlmgateConfig(AppConfig):
    name = "llmgate"
    verbose_name = "LLM gate"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import ModelPrice

        # Price changes move money: who changed which price, and when, is kept.
        auditlog.register(ModelPrice)
