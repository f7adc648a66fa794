from __future__ import annotations

from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"
