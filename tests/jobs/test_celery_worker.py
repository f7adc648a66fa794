"""Redis tier: a real Celery worker process, started by the test, runs the scheduled jobs."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import RequestLog
from t4site.celery import app
from tests.live import ROOT, server_env
from tests.tiers import require_postgres, require_redis_server

WORKER_COMMAND = [sys.executable, "-m", "celery", "-A", "t4site", "worker", "--pool", "solo",
                  "--concurrency", "1", "--loglevel", "warning", "--without-gossip",
                  "--without-mingle", "--without-heartbeat"]  # fmt: skip
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    """A celery worker on its own queue, sharing this test's PostgreSQL database."""
    require_postgres()
    broker = require_redis_server()
    db = connection.settings_dict
    queue = f"t4test-{uuid.uuid4().hex}"
    env = server_env(
        tmp_path,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=broker,
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "t4site",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def run_on_worker(queue: str, task: str, **kwargs):
    return app.send_task(task, kwargs=kwargs, queue=queue).get(timeout=90)


def test_worker_prunes_request_logs(worker):
    old = timezone.now() - timedelta(days=400)
    RequestLog.objects.bulk_create(
        RequestLog(time=old, method="GET", path="/old", status=200, duration_ms=1.0)
        for _ in range(3)
    )
    assert run_on_worker(worker, "audit.tasks.prune_request_logs") == {
        "deleted": 3,
        "batches": 1,
    }
    assert not RequestLog.objects.filter(path="/old").exists()
