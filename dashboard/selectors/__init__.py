"""Dashboard reads: every figure is a SQL aggregate or a bounded slice, never a full load.

Two roll-up models are optional: ``llmgate.DailySpend`` (the midnight roll-up of the usage
ledger) and ``intents.QualityReport`` (uploaded validator reports). They are looked up
lazily through the app registry so the dashboard works — and says what is missing — on a
deployment whose migrations do not have them yet.

One module per sub-domain: ``common`` (filters, UTC days, optional models, access),
``reports``, ``intents``, ``spend`` (with the ledger totals for /metrics) and ``activity``.
The dashboard's own code imports from those modules; the names are re-exported here for
importers outside the app (``bench/dashboard.py`` uses ``optional_model``).
"""

from __future__ import annotations

from .activity import (
    RequestWindow,
    request_totals,
    request_window,
    requests_per_hour,
    slowest_paths,
)
from .common import (
    TEAM_LEADS_GROUP,
    Filters,
    day_start,
    is_team_lead,
    optional_model,
    utc_today,
)
from .intents import (
    expiring_waivers,
    intent_counts,
    intent_status_counts,
    open_intents_by_status,
    stale_intents,
)
from .reports import ReportPoint, quality_reports
from .spend import (
    HISTORY_CACHE_SECONDS,
    REFUSED,
    SpendRow,
    SpendSource,
    daily_spend_rows,
    keys_near_limit,
    llm_totals_by_model_status,
    rolled_until,
    spend_rows,
    spend_source,
)

__all__ = [
    "HISTORY_CACHE_SECONDS",
    "REFUSED",
    "TEAM_LEADS_GROUP",
    "Filters",
    "ReportPoint",
    "RequestWindow",
    "SpendRow",
    "SpendSource",
    "daily_spend_rows",
    "day_start",
    "expiring_waivers",
    "intent_counts",
    "intent_status_counts",
    "is_team_lead",
    "keys_near_limit",
    "llm_totals_by_model_status",
    "open_intents_by_status",
    "optional_model",
    "quality_reports",
    "request_totals",
    "request_window",
    "requests_per_hour",
    "rolled_until",
    "slowest_paths",
    "spend_rows",
    "spend_source",
    "stale_intents",
    "utc_today",
]
