"""The Celery application.

With no broker configured (the embedded default) tasks run eagerly in-process, so nothing
needs a broker to work; production sets ``CELERY_BROKER_URL`` or ``REDIS_URL``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "t4site.settings")

app = Celery("t4site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
