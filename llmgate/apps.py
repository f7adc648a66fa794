from __future__ import annotations

from django.apps import AppConfig


class LlmgateConfig(AppConfig):
    name = "llmgate"
    verbose_name = "LLM gate"

    def ready(self) -> None:
        from auditlog.registry import auditlog
        from django.db.models.signals import post_delete, post_save

        from .models import ModelPrice
        from .selectors import price_cache_clear

        post_save.connect(price_cache_clear, sender=ModelPrice, dispatch_uid="llm_price_save")
        post_delete.connect(price_cache_clear, sender=ModelPrice, dispatch_uid="llm_price_del")

        # Price changes move money: who changed which price, and when, is kept.
        auditlog.register(ModelPrice)
