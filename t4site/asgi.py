"""ASGI entry point, kept for tooling that expects one; T4 is served over WSGI.

Production runs ``gunicorn -c gunicorn.conf.py t4site.wsgi:application``: the request log
is written when the server closes each response, which Django's ASGI handler skips when a
client disconnects mid-response (audit.middleware.RequestLogMiddleware), and wsgi.py runs
the deployment checks before serving.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "t4site.settings")
application = get_asgi_application()
