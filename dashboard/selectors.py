"""Dashboard reads: every figure is a SQL aggregate or a bounded slice, never a full load.

Two roll-up models are optional: ``llmgate.DailySpend`` (the midnight roll-up of the usage
ledger) and ``intents.QualityReport`` (uploaded validator reports). They are looked up
lazily through the app registry so the dashboard works — and says what is missing — on a
deployment whose migrations do not have them yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.cache import cache
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    Model,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Substr
from django.utils import timezone

from apikeys.models import APIKey
from audit.models import ROLLUP_PATH_LENGTH, RequestHourly, RequestLog
from audit.rollups import requesthourly_rolled_until
from intents.models import OPEN_STATUSES, Intent, IntentStatus
from intents.selectors import intent_list_expiring, intent_list_stale
from llmgate.models import ZERO, KeyDailyBudget, LLMUsage, UsageStatus

TEAM_LEADS_GROUP = "team leads"
HISTORY_CACHE_SECONDS = 26 * 3600
REFUSED = UsageStatus.REFUSED


def optional_model(app_label: str, model_name: str) -> type[Model] | None:
    """The model class, or None while the app does not define it (yet)."""
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """Inclusive UTC date range and an optional owner (intent owner / key owner)."""

    start: date
    end: date
    owner: str = ""

    @property
    def start_dt(self) -> datetime:
        return day_start(self.start)

    @property
    def end_dt(self) -> datetime:
        """Exclusive upper bound: midnight after ``end``."""
        return day_start(self.end + timedelta(days=1))


# --- access -----------------------------------------------------------------------------


def is_team_lead(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_staff or user.groups.filter(name__iexact=TEAM_LEADS_GROUP).exists())


# --- quality reports --------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPoint:
    created_at: datetime
    repository: str
    commit: str
    total_findings: int
    annotated: int
    unannotated: int
    quality_score: float | None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _score(value: Any) -> float | None:
    try:
        return None if value is None else round(float(value), 2)
    except (TypeError, ValueError):
        return None


def quality_reports(*, filters: Filters, limit: int = 500) -> list[ReportPoint] | None:
    """The newest ``limit`` reports in the range, oldest first; None if the model is absent."""
    model = optional_model("intents", "QualityReport")
    if model is None:
        return None
    field_names = {f.name for f in model._meta.get_fields()}
    wanted = [
        name
        for name in ("created_at", "summary", "metrics", "repository", "commit")
        if name in field_names
    ]
    rows = (
        model._default_manager.filter(
            created_at__gte=filters.start_dt, created_at__lt=filters.end_dt
        )
        .order_by("-created_at")
        .values(*wanted)[:limit]
    )
    points = []
    for row in rows:
        summary = row.get("summary") if isinstance(row.get("summary"), dict) else {}
        metrics = row.get("metrics") if isinstance(row.get("metrics"), dict) else {}
        points.append(
            ReportPoint(
                created_at=row["created_at"],
                repository=str(row.get("repository") or ""),
                commit=str(row.get("commit") or ""),
                total_findings=_int(summary.get("total_findings")),
                annotated=_int(summary.get("annotated")),
                unannotated=_int(summary.get("unannotated")),
                quality_score=_score(metrics.get("annotation_quality_score")),
            )
        )
    points.reverse()
    return points


# --- intents ----------------------------------------------------------------------------


def _intents(filters: Filters, *, dated: bool) -> QuerySet[Intent]:
    qs = Intent.objects.all()
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    if dated:
        qs = qs.filter(created_at__gte=filters.start_dt, created_at__lt=filters.end_dt)
    return qs


def intent_counts(*, filters: Filters, by: str, dated: bool = False, limit: int = 100) -> list:
    """``[(value, count), ...]`` grouped by ``status``, ``owner`` or ``code``, largest first."""
    if by not in {"status", "owner", "code"}:
        raise ValueError(by)
    rows = (
        _intents(filters, dated=dated)
        .order_by()
        .values_list(by)
        .annotate(n=Count("*"))
        .order_by("-n", by)[:limit]
    )
    return [(value, n) for value, n in rows]


def intent_status_counts(*, filters: Filters, dated: bool = False) -> dict[str, int]:
    counts = dict.fromkeys(IntentStatus.values, 0)
    counts.update(dict(intent_counts(filters=filters, by="status", dated=dated)))
    return counts


def stale_intents(*, filters: Filters, days: int, limit: int = 100) -> list[Intent]:
    qs = intent_list_stale(days=days)
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    return list(qs[:limit])


def expiring_waivers(*, filters: Filters, within_days: int = 14, limit: int = 100) -> list:
    qs = intent_list_expiring(within_days=within_days)
    if filters.owner:
        qs = qs.filter(owner=filters.owner)
    return list(qs[:limit])


def open_intents_by_status() -> dict[str, int]:
    rows = (
        Intent.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("status")
        .annotate(n=Count("*"))
    )
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    counts.update(dict(rows))
    return counts


# --- LLM spend --------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    day: date | None
    agent_id: str
    model: str
    calls: int
    refused: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


def _usage_sums() -> dict[str, Any]:
    return {
        "calls": Count("pk", filter=~Q(status=REFUSED)),
        "refused": Count("pk", filter=Q(status=REFUSED)),
        "prompt": Coalesce(Sum("prompt_tokens"), 0),
        "completion": Coalesce(Sum("completion_tokens"), 0),
        "cost_sum": Coalesce(Sum("cost"), Value(ZERO), output_field=_money()),
    }


def _money() -> DecimalField:
    return DecimalField(max_digits=24, decimal_places=10)


_LIVE_GROUP = ("day", "agent_id", "model")


@dataclass(frozen=True)
class SpendSource:
    """Where a page's spend figures come from, computed once per page.

    ``rolled``: the last day in ``DailySpend`` (None: nothing rolled up);
    ``live``: the ledger after that day (normally today), aggregated once by day, agent and
    model as ``(key, calls, refused, prompt, completion, cost)`` so every table of the page
    reduces the same rows instead of scanning the ledger again.
    """

    rolled: date | None
    live: list[tuple]


def spend_source(*, filters: Filters) -> SpendSource:
    rolled = rolled_until()
    # One lower bound, not ``day >= start AND day > rolled``: given both, SQLite may range
    # the index on the first one only and then filter a month of rows by the second.
    first = filters.start if rolled is None else max(filters.start, rolled + timedelta(days=1))
    ledger = LLMUsage.objects.filter(day__gte=first, day__lte=filters.end)
    if filters.owner:
        ledger = ledger.filter(api_key__owner=filters.owner)
    live = [
        (
            tuple(row[g] for g in _LIVE_GROUP),
            row["calls"],
            row["refused"],
            row["prompt"],
            row["completion"],
            row["cost_sum"],
        )
        for row in ledger.order_by().values(*_LIVE_GROUP).annotate(**_usage_sums())
    ]
    return SpendSource(rolled=rolled, live=live)


def spend_rows(
    *, filters: Filters, group: tuple[str, ...], source: SpendSource | None = None
) -> list[SpendRow]:
    """Usage grouped by any of ``day``, ``agent_id``, ``model`` over the filter range.

    Days already rolled up into ``DailySpend`` are read from the roll-up; the ledger is only
    aggregated for the days after the last roll-up (normally: today).
    """
    source = source or spend_source(filters=filters)
    merged: dict[tuple, list] = {}

    def add(key: tuple, calls: int, refused: int, prompt: int, completion: int, cost: Any):
        slot = merged.setdefault(key, [0, 0, 0, 0, ZERO])
        slot[0] += calls or 0
        slot[1] += refused or 0
        slot[2] += prompt or 0
        slot[3] += completion or 0
        slot[4] += cost or ZERO

    if source.rolled is not None:
        for row in daily_spend_rows(filters=filters, group=group, until=source.rolled):
            add(*row)
    positions = [_LIVE_GROUP.index(g) for g in group]
    for key, *figures in source.live:
        add(tuple(key[i] for i in positions), *figures)
    result = []
    for key, (calls, refused, prompt, completion, cost) in merged.items():
        values = dict(zip(group, key, strict=True))
        result.append(
            SpendRow(
                day=values.get("day"),
                agent_id=values.get("agent_id", ""),
                model=values.get("model", ""),
                calls=calls,
                refused=refused,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=Decimal(cost),
            )
        )
    return result


def rolled_until() -> date | None:
    """The last day present in the ``DailySpend`` roll-up (None without roll-up)."""
    model = optional_model("llmgate", "DailySpend")
    if model is None:
        return None
    return model._default_manager.aggregate(last=Max("day"))["last"]


def daily_spend_rows(*, filters: Filters, group: tuple[str, ...], until: date) -> list[tuple]:
    """Roll-up rows as ``(key, calls, refused, prompt, completion, cost)`` (see spend_rows)."""
    model = optional_model("llmgate", "DailySpend")
    if model is None:
        return []
    names = {f.name for f in model._meta.get_fields()}
    qs = model._default_manager.filter(day__gte=filters.start, day__lte=min(filters.end, until))
    if filters.owner:
        qs = qs.filter(api_key__owner=filters.owner)
    mapping = {"day": "day", "model": "model", "agent_id": "api_key__agent_id"}
    if "agent_id" in names:
        mapping["agent_id"] = "agent_id"
    values = [mapping[g] for g in group]
    sums = {
        "calls_sum": Coalesce(Sum("calls"), 0),
        "refused_sum": Coalesce(Sum("refusals"), 0) if "refusals" in names else Value(0),
        "cost_sum": Coalesce(Sum("cost"), Value(ZERO), output_field=_money()),
    }
    for name in ("prompt_tokens", "completion_tokens"):
        sums[name + "_sum"] = Coalesce(Sum(name), 0) if name in names else Value(0)
    if "prompt_tokens" not in names and "tokens" in names:
        sums["prompt_tokens_sum"] = Coalesce(Sum("tokens"), 0)
    out = []
    for row in qs.order_by().values(*values).annotate(**sums):
        out.append(
            (
                tuple(row[v] for v in values),
                row["calls_sum"],
                row["refused_sum"],
                row["prompt_tokens_sum"],
                row["completion_tokens_sum"],
                row["cost_sum"],
            )
        )
    return out


def keys_near_limit(*, filters: Filters, limit: int = 10) -> list[dict[str, Any]]:
    """Today's budgets, highest share of the daily limit used (spent + reserved) first."""
    used = ExpressionWrapper(F("spent") + F("reserved"), output_field=_money())
    qs = KeyDailyBudget.objects.filter(day=utc_today(), api_key__daily_limit__gt=0)
    if filters.owner:
        qs = qs.filter(api_key__owner=filters.owner)
    rows = (
        qs.annotate(used=used)
        .annotate(
            share=ExpressionWrapper(F("used") / F("api_key__daily_limit"), output_field=_money())
        )
        .order_by("-share", "api_key_id")
        .values(
            "api_key_id",
            "api_key__prefix",
            "api_key__agent_id",
            "api_key__owner",
            "api_key__daily_limit",
            "spent",
            "reserved",
            "refusals",
        )[:limit]
    )
    out = []
    for row in rows:
        limit_usd = row["api_key__daily_limit"]
        used_usd = row["spent"] + row["reserved"]
        out.append(
            {
                "key_id": row["api_key_id"],
                "prefix": f"t4_{row['api_key__prefix']}",
                "agent_id": row["api_key__agent_id"],
                "owner": row["api_key__owner"],
                "daily_limit": limit_usd,
                "spent": row["spent"],
                "reserved": row["reserved"],
                "refusals": row["refusals"],
                "used_pct": round(float(used_usd / limit_usd * 100), 1) if limit_usd else None,
            }
        )
    return out


# --- API activity -----------------------------------------------------------------------
#
# Completed hours come from the hourly roll-up ``audit.RequestHourly``; only the requests
# after the latest rolled hour (normally the current hour) are aggregated from the log, so a
# page reads a few rows per hour whatever the size of the log. The roll-up has no key
# dimension: with an ``owner`` filter the log itself is aggregated (through its
# ``key_prefix`` index), which only covers the retention period.


@dataclass
class RequestWindow:
    """Which part of ``[filters.start_dt, filters.end_dt)`` comes from where.

    ``rolled_end``: hours before it are read from ``RequestHourly`` (None: none are);
    ``live_start``: log rows from here to ``filters.end_dt`` are aggregated live, once per
    page (``live_rows``), by hour, path and status; each table reduces those rows.
    """

    filters: Filters
    rolled_end: datetime | None
    live_start: datetime
    _live: list[tuple] | None = field(default=None, repr=False, compare=False)

    def live_rows(self) -> list[tuple]:
        """``(hour, path, status, count, total_ms, max_ms)`` for the live part."""
        if self._live is None:
            self._live = []
            if self.has_live:
                rows = (
                    _requests(self)
                    .order_by()
                    .annotate(
                        bucket=_HourBucket("time"),
                        short_path=Substr("path", 1, ROLLUP_PATH_LENGTH),
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
    """Paths by mean duration, slowest first: ``path, n, avg_ms, max_ms``.

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


def _ledger_totals(qs: QuerySet[LLMUsage]) -> dict[tuple[str, str], list]:
    rows = (
        qs.order_by()
        .values_list("model", "status")
        .annotate(
            calls=Count("pk"),
            prompt_tokens=Coalesce(Sum("prompt_tokens"), 0),
            completion_tokens=Coalesce(Sum("completion_tokens"), 0),
            cost=Coalesce(Sum("cost"), Value(ZERO), output_field=_money()),
        )
    )
    return {(model, status): [calls, p, c, cost] for model, status, calls, p, c, cost in rows}


def llm_totals_by_model_status(*, today: date | None = None) -> list[dict[str, Any]]:
    """All-time calls, tokens and cost per (model, status), for the metrics scrape.

    Closed days no longer change, so their totals are computed once per boundary and kept
    in the cache (shared by every worker when the cache is Redis); each scrape aggregates
    only the open days through the ``(day, model)`` index: today alone once the midnight job
    has closed yesterday into ``DailySpend``, else yesterday and today (a call reserved just
    before midnight settles after it). The closed days are read from the ledger, not from
    ``DailySpend``: the roll-up has no per-status tokens and cost, and a counter that moved
    between labels when its day is closed would go backwards.
    """
    today = today or utc_today()
    closed = rolled_until()
    boundary = (
        today
        if closed is not None and closed >= today - timedelta(days=1)
        else (today - timedelta(days=1))
    )
    cache_key = f"dashboard:llm-history:{boundary.isoformat()}"
    history = cache.get(cache_key)
    if history is None:
        history = _ledger_totals(LLMUsage.objects.filter(day__lt=boundary))
        cache.set(cache_key, history, HISTORY_CACHE_SECONDS)
    merged = {key: list(values) for key, values in history.items()}
    for key, values in _ledger_totals(LLMUsage.objects.filter(day__gte=boundary)).items():
        slot = merged.setdefault(key, [0, 0, 0, ZERO])
        for i, v in enumerate(values):
            slot[i] += v
    return [
        {
            "model": model,
            "status": status,
            "calls": calls,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cost": cost,
        }
        for (model, status), (calls, prompt, completion, cost) in sorted(merged.items())
    ]
