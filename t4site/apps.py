from __future__ import annotations

from django.apps import AppConfig


class T4SiteConfig(AppConfig):
    name = "t4site"
    verbose_name = "T4 site"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
