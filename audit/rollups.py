"""The hourly roll-up of the request log (``RequestHourly``).

Every completed UTC hour of ``RequestLog`` is reduced to one row per (method, endpoint,
status) — the endpoint being the URL pattern the requests matched
(``audit.models.request_endpoint``) — with the request count and the total and maximum
duration. Pages that show request activity read these rows for completed hours and
aggregate only the current hour live, so their cost does not grow with the size of the log.

The job is idempotent and catches up by itself:

* an hour is always recomputed whole from the log (delete its rows, insert the fresh
  aggregate, upsert on the unique key so an overlapping run cannot fail), so running it
  again for an hour writes the same figures;
* it starts after the latest rolled hour (the watermark, ``Max("hour")``) and walks forward
  through the hours that have log rows, skipping empty ones with one indexed lookup, so a
  missed run (broker down, deploy) is made up by the next one;
* the latest rolled hour is rolled once more on the next run while it is recent, which picks
  up rows committed late (a request that finished just before the hour and was written just
  after the previous run);
* at most ``max_hours`` hours are rolled per call, each in its own short transaction, so a
  large backlog (first run on an old log) is worked off over several runs instead of one
  long one; the management command loops until it has caught up;
* the current, incomplete hour is never rolled.

Retention (``audit.services.requestlog_prune``) deletes log rows only; roll-up rows have no
link to them and stay. An hour whose log rows were already pruned is never rolled again,
so its roll-up keeps the figures computed while the rows existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from .models import RequestHourly, RequestLog, request_endpoint

HOUR = timedelta(hours=1)
MAX_HOURS_PER_RUN = 168
# The latest rolled hour is recomputed on the next run while it ended less than this long
# before the new run's end (normally: the run one hour later).
REROLL_WINDOW = timedelta(hours=2)
_COUNTED_FIELDS = ["count", "total_duration_ms", "max_duration_ms"]


@dataclass
class RollupResult:
    hours: list[datetime] = field(default_factory=list)
    rows: int = 0
    requests: int = 0
    caught_up: bool = True
    # (rows written, requests counted) per rolled hour, for callers that merge several runs.
    per_hour: dict[datetime, tuple[int, int]] = field(default_factory=dict)


def hour_floor(moment: datetime) -> datetime:
    """The start of the UTC hour containing ``moment`` (aware)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def requesthourly_rolled_until() -> datetime | None:
    """End of the latest rolled hour: every log row before it is in ``RequestHourly``.

    None when nothing has been rolled yet. Readers aggregate the log live from here on.
    """
    last = RequestHourly.objects.aggregate(last=Max("hour"))["last"]
    return None if last is None else last + HOUR


def _first_hour_with_rows(since: datetime | None, end: datetime) -> datetime | None:
    qs = RequestLog.objects.filter(time__lt=end)
    if since is not None:
        qs = qs.filter(time__gte=since)
    first = qs.order_by("time").values_list("time", flat=True).first()
    return None if first is None else hour_floor(first)


@transaction.atomic
def _roll_hour(hour: datetime) -> tuple[int, int]:
    """Recompute one hour from the log: ``(rows written, requests counted)``."""
    groups = (
        RequestLog.objects.filter(time__gte=hour, time__lt=hour + HOUR)
        .order_by()
        .annotate(short_path=request_endpoint())
        .values("method", "short_path", "status")
        .annotate(n=Count("pk"), total=Sum("duration_ms"), slowest=Max("duration_ms"))
    )
    rows = [
        RequestHourly(
            hour=hour,
            method=g["method"],
            path=g["short_path"],
            status=g["status"],
            count=g["n"],
            total_duration_ms=g["total"] or 0.0,
            max_duration_ms=g["slowest"] or 0.0,
        )
        for g in groups
    ]
    RequestHourly.objects.filter(hour=hour).delete()
    RequestHourly.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["hour", "method", "path", "status"],
        update_fields=_COUNTED_FIELDS,
    )
    return len(rows), sum(row.count for row in rows)


def requesthourly_rollup(
    *, until: datetime | None = None, max_hours: int = MAX_HOURS_PER_RUN
) -> RollupResult:
    """Roll every completed hour before ``until`` (default: now) that is not rolled yet.

    ``until`` is cut to the start of its hour and never later than the current hour, so an
    incomplete hour is never rolled. At most ``max_hours`` new hours with log rows are
    rolled (plus the latest rolled hour again while it is recent); ``caught_up`` is False
    when more remain before ``until``.
    """
    now_hour = hour_floor(timezone.now())
    end = min(hour_floor(until), now_hour) if until is not None else now_hour
    max_hours = max(1, max_hours)
    last = RequestHourly.objects.aggregate(last=Max("hour"))["last"]
    if last is None:
        since = None
    elif last >= end - REROLL_WINDOW:
        since = last  # recent: roll it again for rows written after the previous run
    else:
        since = last + HOUR
    result = RollupResult()
    new_hours = 0
    hour = _first_hour_with_rows(since, end)
    while hour is not None:
        if last is None or hour > last:
            # Only hours not rolled before count against the budget, so a run always
            # progresses even when it also re-rolls the latest hour.
            if new_hours >= max_hours:
                result.caught_up = False
                break
            new_hours += 1
        rows, requests = _roll_hour(hour)
        result.hours.append(hour)
        result.per_hour[hour] = (rows, requests)
        result.rows += rows
        result.requests += requests
        hour = _first_hour_with_rows(hour + HOUR, end)
    return result
