from __future__ import annotations

from django.contrib import admin

from t4site.admin import ReadOnlyModelAdmin

from .models import RequestHourly, RequestLog


class StatusClassFilter(admin.SimpleListFilter):
    title = "status class"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("2xx", "2xx"), ("4xx", "4xx"), ("429", "429 rate limited"), ("5xx", "5xx")]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        value = self.value()
        if value == "429":
            return queryset.filter(status=429)
        if value in {"2xx", "4xx", "5xx"}:
            low = int(value[0]) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyModelAdmin):
    """Read-only: the request log is evidence, not data to edit."""

    list_display = [
        "time",
        "method",
        "path",
        "route",
        "status",
        "key_prefix",
        "agent_id",
        "client_ip",
        "duration_ms",
    ]
    list_filter = [StatusClassFilter, "method", "status", "time"]
    search_fields = ["path", "route", "key_prefix", "agent_id", "client_ip"]
    date_hierarchy = "time"
    show_full_result_count = False  # counting millions of rows on every page view is slow
    readonly_fields = [field.name for field in RequestLog._meta.fields]


@admin.register(RequestHourly)
class RequestHourlyAdmin(ReadOnlyModelAdmin):
    """Read-only: rows are derived from the request log by ``audit.rollups``."""

    list_display = [
        "hour",
        "method",
        "path",
        "status",
        "count",
        "total_duration_ms",
        "max_duration_ms",
    ]
    list_filter = [StatusClassFilter, "method", "hour"]
    search_fields = ["path"]
    date_hierarchy = "hour"
    show_full_result_count = False
    readonly_fields = [field.name for field in RequestHourly._meta.fields]
