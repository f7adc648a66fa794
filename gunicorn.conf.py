"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py t4site.wsgi:application`.

Everything can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

from __future__ import annotations

import os

bind = os.environ.get("T4_BIND", "0.0.0.0:8001")
workers = int(os.environ.get("T4_WORKERS", "4"))
# Threaded workers: an LLM call holds its request for seconds while it waits on the provider,
# so a sync worker would serve one call at a time and four workers would cap the whole gate
# at four calls in flight. With threads each worker serves T4_THREADS requests at once (each
# thread has its own database connection), and agents' HTTP keep-alive connections are kept.
worker_class = "gthread"
threads = int(os.environ.get("T4_THREADS", "8"))
timeout = 120  # LLM calls through the gate can be slow
# The request log is the access log (redacted); gunicorn's own would print raw query strings,
# including a `?admin_token=`, so it stays off.
accesslog = None


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Drop a dead worker's live Prometheus gauges (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from dashboard.metrics import mark_process_dead

        mark_process_dead(worker.pid)
