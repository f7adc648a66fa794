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
def worker(tmp_path, monkeypatch):
    """A celery worker on its own queue, sharing this test's PostgreSQL database."""
    require_postgres()
    broker = require_redis_server()
    db = connection.settings_dict
    queue = f"t4test-{uuid.uuid4().hex}"
    # This process only sends and waits; the tier runs tests eagerly otherwise.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
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


def test_worker_closes_the_day_and_expires_waivers(worker, make_key):
    import uuid as _uuid
    from decimal import Decimal

    from intents.models import Intent
    from llmgate.models import DailySpend, LLMUsage

    key = make_key("worker-agent").api_key
    yesterday = (timezone.now() - timedelta(days=1)).date()
    LLMUsage.objects.create(
        api_key=key, agent_id=key.agent_id, model="gpt-4o-mini", day=yesterday,
        status="ok", prompt_tokens=10, completion_tokens=5, cost=Decimal("0.25"),
        request_id=_uuid.uuid4().hex,
    )  # fmt: skip
    now = timezone.now()
    Intent.objects.create(
        id="W-worker", code="B008", file="pkg/a.py", line=3, status="accepted", owner="@t",
        ticket="GH-1", reason="FastAPI DI pattern", created_at=now - timedelta(days=100),
        modified_at=now - timedelta(days=100), expires_at=now - timedelta(hours=1),
    )  # fmt: skip

    closed = run_on_worker(worker, "llmgate.tasks.close_day", day=yesterday.isoformat())
    assert closed["rows"] == 1
    row = DailySpend.objects.get(api_key=key, day=yesterday)
    assert (row.calls, row.cost) == (1, Decimal("0.25"))

    assert run_on_worker(worker, "intents.tasks.expire_waivers") == {"expired": 1, "skipped": 0}
    assert Intent.objects.get(pk="W-worker").status == "expired"
