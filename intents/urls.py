from __future__ import annotations

from django.urls import path

from .api import (
    IntentByFileApi,
    IntentByOwnerApi,
    IntentDetailApi,
    IntentListCreateApi,
    IntentStaleApi,
    MetricsSummaryApi,
    ReportCreateApi,
)

# The fixed paths come before intents/<id>; the ids "stale", "by_file" and "by_owner" are
# refused at creation so no intent is ever shadowed by them.
urlpatterns = [
    path("intents", IntentListCreateApi.as_view(), name="intents"),
    path("intents/stale", IntentStaleApi.as_view(), name="intents-stale"),
    path("intents/by_file", IntentByFileApi.as_view(), name="intents-by-file"),
    path("intents/by_owner/<path:owner>", IntentByOwnerApi.as_view(), name="intents-by-owner"),
    path("intents/<str:intent_id>", IntentDetailApi.as_view(), name="intent-detail"),
    path("metrics/summary", MetricsSummaryApi.as_view(), name="metrics-summary"),
    path("reports", ReportCreateApi.as_view(), name="reports"),
]
