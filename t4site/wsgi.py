from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "t4site.settings")
application = get_wsgi_application()

# gunicorn and other WSGI servers do not run Django's system checks; run them here so the
# server refuses to start with an unsafe configuration (e.g. a CHANGE_ME admin token).
from django.core.management import call_command  # noqa: E402

call_command("check", fail_level="ERROR", verbosity=0)
