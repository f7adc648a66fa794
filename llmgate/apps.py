from __future__ import annotations

from django.apps import AppConfig


class LlmgateConfig(AppConfig):
    name = "llmgate"
