"""The hourly request-log roll-up: exact figures, idempotence, catch-up, retention."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import ROLLUP_PATH_LENGTH, RequestHourly, RequestLog
from audit.rollups import (
    HOUR,
    hour_floor,
    requesthourly_rolled_until,
    requesthourly_rollup,
)
from audit.services import requestlog_prune
from audit.tasks import rollup_request_logs

pytestmark = pytest.mark.django_db


@pytest.fixture
def now_hour() -> datetime:
    """Start of the current UTC hour, taken once: tests pass it as ``until`` so a run that
    crosses an hour boundary sees the same completed hours."""
    return hour_floor(timezone.now())


def log(at: datetime, *, method="GET", path="/intents", route="", status=200, ms=1.0, prefix=""):
    return RequestLog(
        time=at,
        method=method,
        path=path,
        route=route,
        status=status,
        duration_ms=ms,
        key_prefix=prefix,
    )


def seed(rows: list[RequestLog]) -> None:
    RequestLog.objects.bulk_create(rows)


def mixed_hour(hour: datetime, salt: int = 0) -> list[RequestLog]:
    """A spread of methods, paths, statuses and (binary-exact) durations within ``hour``."""
    rows = []
    for i in range(40 + salt):
        rows.append(
            log(
                hour + timedelta(minutes=i % 60, seconds=i % 7),
                method=("GET", "POST", "PATCH")[i % 3],
                path=("/intents", "/whoami", f"/intents/T4-{i % 4}", "/llm/chat")[i % 4],
                status=(200, 200, 201, 404, 429, 500)[i % 6],
                ms=0.25 * (i % 13) + salt,
            )
        )
    return rows


def expected_from_log(start: datetime, end: datetime) -> dict[tuple, tuple]:
    """The roll-up recomputed in Python from the raw rows."""
    acc: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in RequestLog.objects.filter(time__gte=start, time__lt=end):
        endpoint = row.route or row.path[:ROLLUP_PATH_LENGTH]
        key = (hour_floor(row.time), row.method, endpoint, row.status)
        slot = acc[key]
        slot[0] += 1
        slot[1] += row.duration_ms
        slot[2] = max(slot[2], row.duration_ms)
    return {key: tuple(v) for key, v in acc.items()}


def rolled() -> dict[tuple, tuple]:
    return {
        (r.hour, r.method, r.path, r.status): (r.count, r.total_duration_ms, r.max_duration_ms)
        for r in RequestHourly.objects.all()
    }


def test_one_url_pattern_rolls_up_as_one_endpoint(now_hour):
    hour = now_hour - HOUR
    detail = "/intents/<str:intent_id>"
    seed(
        [
            log(hour + timedelta(minutes=1), path="/intents/T4-a", route=detail, ms=2.0),
            log(hour + timedelta(minutes=2), path="/intents/T4-b", route=detail, ms=4.0),
            # Logged before routes were recorded: grouped by its path, as it always was.
            log(hour + timedelta(minutes=3), path="/intents/T4-c", ms=1.0),
            log(hour + timedelta(minutes=4), path="/x/1", route="<unmatched>", status=404),
            log(hour + timedelta(minutes=5), path="/x/2", route="<unmatched>", status=404),
        ]
    )
    result = requesthourly_rollup(until=now_hour)
    assert (result.rows, result.requests) == (3, 5)
    assert rolled() == {
        (hour, "GET", detail, 200): (2, 6.0, 4.0),
        (hour, "GET", "/intents/T4-c", 200): (1, 1.0, 1.0),
        (hour, "GET", "<unmatched>", 404): (2, 2.0, 1.0),
    }
    assert rolled() == expected_from_log(hour, now_hour)


def test_figures_match_the_raw_rows_exactly_and_the_current_hour_is_not_rolled(now_hour):
    first = now_hour - 3 * HOUR
    for n in range(3):
        seed(mixed_hour(first + n * HOUR, salt=n))
    seed(mixed_hour(now_hour))  # current hour: incomplete, stays in the log only
    long_path = "/x/" + "a" * 1000
    seed([log(first + timedelta(minutes=5), path=long_path, ms=3.5)] * 2)

    result = requesthourly_rollup(until=now_hour)

    assert result.hours == [first, first + HOUR, first + 2 * HOUR]
    assert result.caught_up
    assert (
        result.requests == RequestLog.objects.filter(time__lt=now_hour).count() == 40 + 41 + 42 + 2
    )
    expected = expected_from_log(first, now_hour)
    assert rolled() == expected
    assert result.rows == len(expected) == RequestHourly.objects.count()
    assert not RequestHourly.objects.filter(hour=now_hour).exists()
    # A path longer than the cap is cut, and its requests are still counted.
    cut = RequestHourly.objects.get(path=long_path[:ROLLUP_PATH_LENGTH])
    assert (cut.count, cut.total_duration_ms, cut.max_duration_ms) == (2, 7.0, 3.5)
    assert requesthourly_rolled_until() == now_hour


def test_until_in_the_future_never_rolls_the_current_hour(now_hour):
    seed(mixed_hour(now_hour - HOUR) + mixed_hour(now_hour))
    result = requesthourly_rollup(until=now_hour + 5 * HOUR)
    assert result.hours == [now_hour - HOUR]
    assert not RequestHourly.objects.filter(hour__gte=now_hour).exists()


def test_rerunning_writes_the_same_figures(now_hour):
    first = now_hour - 2 * HOUR
    seed(mixed_hour(first) + mixed_hour(first + HOUR, salt=1))
    requesthourly_rollup(until=now_hour)
    before = rolled()

    again = requesthourly_rollup(until=now_hour)
    assert again.hours == [first + HOUR]  # only the latest hour is looked at again
    assert rolled() == before

    # Rolling an hour whose rows were damaged or deleted restores the figures from the log.
    RequestHourly.objects.filter(hour=first + HOUR).update(count=999)
    RequestHourly.objects.filter(hour=first + HOUR, status=500).delete()
    requesthourly_rollup(until=now_hour)
    assert rolled() == before == expected_from_log(first, now_hour)


def test_rows_written_late_into_the_latest_rolled_hour_are_picked_up(now_hour):
    hour = now_hour - HOUR
    seed(mixed_hour(hour))
    requesthourly_rollup(until=now_hour)
    seed([log(hour + timedelta(minutes=59, seconds=59), path="/late", ms=7.0)])

    requesthourly_rollup(until=now_hour)

    assert RequestHourly.objects.get(hour=hour, path="/late").count == 1
    assert rolled() == expected_from_log(hour, now_hour)


def test_missed_hours_are_caught_up_in_bounded_batches(now_hour):
    first = now_hour - 10 * HOUR
    with_rows = [first, first + HOUR, first + 4 * HOUR, first + 5 * HOUR, first + 9 * HOUR]
    for n, hour in enumerate(with_rows):
        seed(mixed_hour(hour, salt=n))
    # The job ran once, for the first hour only; then it was down for nine hours.
    assert requesthourly_rollup(until=first + HOUR).hours == [first]

    batch = requesthourly_rollup(until=now_hour, max_hours=2)
    # The latest rolled hour is old now, so it is not rolled again; empty hours are skipped.
    assert batch.hours == [first + HOUR, first + 4 * HOUR]
    assert not batch.caught_up
    batch = requesthourly_rollup(until=now_hour, max_hours=2)
    assert batch.hours == [first + 5 * HOUR, first + 9 * HOUR]
    assert batch.caught_up
    assert rolled() == expected_from_log(first, now_hour)
    assert requesthourly_rollup(until=now_hour).hours == [first + 9 * HOUR]  # recent: re-rolled


def test_nothing_to_roll():
    result = requesthourly_rollup()
    assert (result.hours, result.rows, result.caught_up) == ([], 0, True)
    assert requesthourly_rolled_until() is None


def test_retention_keeps_the_rollups(now_hour):
    old = now_hour - timedelta(days=100)
    recent = now_hour - HOUR
    seed(mixed_hour(old) + mixed_hour(recent, salt=1))
    requesthourly_rollup(until=now_hour)
    before = rolled()
    assert {key[0] for key in before} == {old, recent}

    assert requestlog_prune(older_than_days=90).deleted == 40
    assert not RequestLog.objects.filter(time__lt=now_hour - timedelta(days=90)).exists()
    assert rolled() == before  # the roll-up of the pruned hour is kept

    # Later runs never roll a pruned hour again (its figures would be lost).
    requesthourly_rollup(until=now_hour)
    assert rolled() == before


def test_task_and_command(now_hour):
    seed(mixed_hour(now_hour - 2 * HOUR) + mixed_hour(now_hour - HOUR, salt=1))
    assert rollup_request_logs.apply().get() == {
        "hours": 2,
        "rows": RequestHourly.objects.count(),
        "requests": 81,
        "caught_up": True,
    }
    RequestHourly.objects.all().delete()
    out = StringIO()
    call_command("rollup_request_logs", "--max-hours", "1", stdout=out)
    # The command loops until caught up, one hour per batch here.
    assert out.getvalue().startswith("rollup_request_logs: rolled 2 hour(s) (")
    assert "81 request(s)" in out.getvalue()
    assert rolled() == expected_from_log(now_hour - 2 * HOUR, now_hour)


def test_the_hourly_schedule_is_created_by_migration():
    task = PeriodicTask.objects.select_related("crontab").get(
        task="audit.tasks.rollup_request_logs"
    )
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("2", "*")
    assert str(task.crontab.timezone) == "UTC"


def test_command_until_and_once(now_hour):
    first = now_hour - 5 * HOUR
    for n in range(4):
        seed(mixed_hour(first + n * HOUR))
    out = StringIO()
    until = (first + 2 * HOUR).replace(tzinfo=None).isoformat()  # naive: read as UTC
    call_command("rollup_request_logs", "--until", until, stdout=out)
    assert set(RequestHourly.objects.values_list("hour", flat=True)) == {first, first + HOUR}
    out = StringIO()
    call_command("rollup_request_logs", "--once", "--max-hours", "1", stdout=out)
    assert out.getvalue().rstrip().endswith("; more hours remain")
    with pytest.raises(CommandError):
        call_command("rollup_request_logs", "--until", "yesterday")
