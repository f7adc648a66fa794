from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import RequestLog
from audit.services import requestlog_prune
from audit.tasks import prune_request_logs

pytestmark = pytest.mark.django_db


def seed_logs(count: int, age_days: float) -> None:
    at = timezone.now() - timedelta(days=age_days)
    RequestLog.objects.bulk_create(
        RequestLog(time=at, method="GET", path="/x", status=200, duration_ms=1.0)
        for _ in range(count)
    )


def test_prune_deletes_only_rows_past_the_cutoff_in_bounded_batches(make_key):
    make_key()  # leaves a django-auditlog entry that must survive
    audit_entries = LogEntry.objects.count()
    seed_logs(25, age_days=91)
    seed_logs(5, age_days=89)
    with CaptureQueriesContext(connection) as queries:
        result = requestlog_prune(older_than_days=90, batch_size=10)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert result.deleted == 25 and result.batches == 3
    assert len(deletes) == 3  # one bounded statement per batch
    assert all("audit_requestlog" in sql for sql in deletes)
    assert RequestLog.objects.count() == 5
    assert LogEntry.objects.count() == audit_entries
    assert requestlog_prune(older_than_days=90, batch_size=10).deleted == 0  # idempotent


def test_batch_size_is_capped_at_5000():
    seed_logs(3, age_days=200)
    assert requestlog_prune(older_than_days=90, batch_size=10**6).batches == 1


def test_prune_uses_the_retention_setting(settings):
    settings.T4_AUDIT_RETENTION_DAYS = 7
    seed_logs(2, age_days=8)
    seed_logs(1, age_days=6)
    assert prune_request_logs.apply().get() == {"deleted": 2, "batches": 1}
    assert RequestLog.objects.count() == 1


def test_prune_command_prints_a_summary():
    seed_logs(4, age_days=100)
    out = StringIO()
    call_command("prune_request_logs", stdout=out)
    assert out.getvalue().startswith("prune_request_logs: deleted 4 row(s)")


def test_beat_schedule_is_created_by_migration():
    tasks = dict(PeriodicTask.objects.values_list("task", "crontab__hour"))
    assert tasks == {
        "llmgate.tasks.close_day": "0",
        "intents.tasks.expire_waivers": "0",
        "intents.tasks.flag_stale_intents": "1",
        "audit.tasks.prune_request_logs": "2",
        "audit.tasks.rollup_request_logs": "*",  # hourly
    }
    zones = {str(zone) for zone in PeriodicTask.objects.values_list("crontab__timezone", flat=True)}
    assert zones == {"UTC"}
