"""API activity: requests per hour, error counts and slowest endpoints.

Completed hours come from the hourly roll-up ``audit.RequestHourly``; only the requests
after the latest rolled hour (normally the current hour) are aggregated from the log, so a
page reads a few rows per hour whatever the size of the log. The roll-up has no key
dimension: with an ``owner`` filter the log itself is aggregated (through its
``key_prefix`` index), which only covers the retention period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import (
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat

from apikeys.models import APIKey
from audit.models import RequestHourly, RequestLog, request_endpoint
from audit.rollups import requesthourly_rolled_until

from .common import Filters


@dataclass
class RequestWindow:
    """Which part of ``[filters.start_dt, filters.end_dt)`` comes from where.

    ``rolled_end``: hours before it are read from ``RequestHourly`` (None: none are);
    ``live_start``: log rows from here to ``filters.end_dt`` are aggregated live, once per
    page (``live_rows``), by hour, endpoint and status; each table reduces those rows.
    """

    filters: Filters
    rolled_end: datetime | None
    live_start: datetime
    _live: list[tuple] | None = field(default=None, repr=False, compare=False)

    def live_rows(self) -> list[tuple]:
        """``(hour, endpoint, status, count, total_ms, max_ms)`` for the live part."""
        if self._live is None:
            self._live = []
            if self.has_live:
                rows = (
                    _requests(self)
                    .order_by()
                    .annotate(
                        bucket=_HourBucket("time"),
                        short_path=request_endpoint(),
                    )
                    .values_list("bucket", "short_path", "status")
                    .annotate(Count("pk"), Sum("duration_ms"), Max("duration_ms"))
                )
                self._live = [
                    (datetime.strptime(b, "%Y-%m-%d %H").replace(tzinfo=UTC), *rest)
                    for b, *rest in rows
                ]
        return self._live

    @property
    def has_rolled(self) -> bool:
        return self.rolled_end is not None and self.rolled_end > self.filters.start_dt

    @property
    def has_live(self) -> bool:
        return self.live_start < self.filters.end_dt


def request_window(*, filters: Filters) -> RequestWindow:
    if filters.owner:
        return RequestWindow(filters=filters, rolled_end=None, live_start=filters.start_dt)
    rolled_until = requesthourly_rolled_until()
    if rolled_until is None or rolled_until <= filters.start_dt:
        return RequestWindow(filters=filters, rolled_end=None, live_start=filters.start_dt)
    rolled_end = min(rolled_until, filters.end_dt)
    return RequestWindow(filters=filters, rolled_end=rolled_end, live_start=rolled_end)


def _requests(window: RequestWindow) -> QuerySet[RequestLog]:
    filters = window.filters
    qs = RequestLog.objects.filter(time__gte=window.live_start, time__lt=filters.end_dt)
    if filters.owner:
        prefixes = APIKey.objects.filter(owner=filters.owner).values_list(
            Concat(Value("t4_"), "prefix")
        )
        qs = qs.filter(key_prefix__in=prefixes)
    return qs


def _rolled(window: RequestWindow) -> QuerySet[RequestHourly]:
    return RequestHourly.objects.filter(
        hour__gte=window.filters.start_dt, hour__lt=window.rolled_end
    )


def _rolled_status_counts() -> dict[str, Any]:
    return {
        "n": Coalesce(Sum("count"), 0),
        "c4xx": Coalesce(Sum("count", filter=Q(status__gte=400, status__lt=500)), 0),
        "c5xx": Coalesce(Sum("count", filter=Q(status__gte=500)), 0),
        "c429": Coalesce(Sum("count", filter=Q(status=429)), 0),
    }


class _HourBucket(Func):
    """The UTC hour of a timestamp as ``YYYY-MM-DD HH`` text.

    Django's ``TruncHour`` runs a Python function per row on SQLite; this stays in SQL on
    both backends (SQLite stores UTC timestamps as ISO text).
    """

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 13)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')",
        )


_HOUR_FIGURES = ("n", "c4xx", "c5xx", "c429", "ms_sum")


def requests_per_hour(
    *, filters: Filters, window: RequestWindow | None = None
) -> list[dict[str, Any]]:
    """One row per UTC hour with requests: ``hour, n, c4xx, c5xx, c429, ms_sum, avg_ms``."""
    window = window or request_window(filters=filters)
    merged: dict[datetime, dict[str, Any]] = {}

    def add(hour: datetime, row: dict[str, Any]) -> None:
        slot = merged.setdefault(hour, dict.fromkeys(_HOUR_FIGURES, 0))
        for name in _HOUR_FIGURES:
            slot[name] += row[name] or 0

    if window.has_rolled:
        rolled = (
            _rolled(window)
            .order_by()
            .values("hour")
            .annotate(**_rolled_status_counts(), ms_sum=Sum("total_duration_ms"))
        )
        for row in rolled:
            add(row["hour"].astimezone(UTC), row)
    for hour, _path, status, n, total, _slowest in window.live_rows():
        add(
            hour,
            {
                "n": n,
                "c4xx": n if 400 <= status < 500 else 0,
                "c5xx": n if status >= 500 else 0,
                "c429": n if status == 429 else 0,
                "ms_sum": total,
            },
        )
    out = []
    for hour in sorted(merged):
        row = {"hour": hour, **merged[hour]}
        row["avg_ms"] = row["ms_sum"] / row["n"] if row["n"] else 0.0
        out.append(row)
    return out


def request_totals(*, hours: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over the hourly rows (no second scan of the request log)."""
    totals: dict[str, Any] = {"n": 0, "c4xx": 0, "c5xx": 0, "c429": 0, "ms_sum": 0.0}
    for row in hours:
        for name in totals:
            totals[name] += row[name] or 0
    totals["avg_ms"] = totals["ms_sum"] / totals["n"] if totals["n"] else 0.0
    return totals


def slowest_paths(
    *, filters: Filters, window: RequestWindow | None = None, limit: int = 15
) -> list[dict[str, Any]]:
    """Endpoints by mean duration, slowest first: ``path, n, avg_ms, max_ms``.

    ``path`` is the endpoint (``audit.models.request_endpoint``): the URL pattern, so every
    ``/intents/<id>`` request counts towards one row.

    Exact over roll-up plus live rows without reading every rolled path: a path without
    live requests keeps its rolled mean, so the answer is among the rolled top
    ``limit + len(live paths)`` plus the live paths (whose rolled figures are fetched).
    """
    window = window or request_window(filters=filters)
    merged: dict[str, list[float]] = {}

    def add(path: str, n: int, total: float, slowest: float) -> None:
        slot = merged.setdefault(path, [0, 0.0, 0.0])
        slot[0] += n or 0
        slot[1] += total or 0.0
        slot[2] = max(slot[2], slowest or 0.0)

    for _hour, path, _status, n, total, slowest in window.live_rows():
        add(path, n, total, slowest)
    live_paths = list(merged)
    if window.has_rolled:
        per_path = (
            _rolled(window)
            .order_by()
            .values("path")
            .annotate(
                n=Sum("count"),
                total=Sum("total_duration_ms"),
                slowest=Max("max_duration_ms"),
            )
            .values_list("path", "n", "total", "slowest")
        )
        mean = ExpressionWrapper(F("total") / Cast(F("n"), FloatField()), output_field=FloatField())
        rows = list(
            per_path.annotate(mean=mean).order_by("-mean", "path")[: limit + len(live_paths)]
        )
        seen = {row[0] for row in rows}
        wanted = [p for p in live_paths if p not in seen]
        for start in range(0, len(wanted), 500):
            rows.extend(per_path.filter(path__in=wanted[start : start + 500]))
        for path, n, total, slowest, *_ in rows:
            add(path, n, total, slowest)
    out = [
        {"path": path, "n": n, "avg_ms": total / n if n else 0.0, "max_ms": slowest}
        for path, (n, total, slowest) in merged.items()
    ]
    out.sort(key=lambda row: (-row["avg_ms"], row["path"]))
    return out[:limit]
