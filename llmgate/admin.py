"""Admin: prices are editable; the ledger and the daily budgets are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from t4site.admin import ReadOnlyModelAdmin

from .models import DailySpend, KeyDailyBudget, LLMUsage, ModelPrice
from .selectors import usage_totals


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model", "prompt_per_1k", "completion_per_1k", "active", "updated_at"]
    list_editable = ["prompt_per_1k", "completion_per_1k", "active"]
    list_filter = ["active"]
    search_fields = ["model"]


@admin.register(LLMUsage)
class LLMUsageAdmin(ReadOnlyModelAdmin):
    list_display = [
        "created_at",
        "agent_id",
        "api_key",
        "model",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "estimated_cost",
        "cost",
        "latency_ms",
        "streamed",
    ]
    list_filter = ["status", "model", "day", "streamed", "agent_id"]
    search_fields = ["agent_id", "request_id", "api_key__prefix", "model"]
    date_hierarchy = "day"
    list_select_related = ["api_key"]
    raw_id_fields = ["api_key"]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [*self.list_filter, ("api_key", admin.RelatedOnlyFieldListFilter)]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context=extra_context)
        # Totals follow the filters the admin chose (agent, key, model, day, status).
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["llm_totals"] = usage_totals(queryset=changelist.queryset)
        return response


@admin.register(KeyDailyBudget)
class KeyDailyBudgetAdmin(ReadOnlyModelAdmin):
    list_display = ["day", "api_key", "spent", "reserved", "calls", "refusals"]
    list_filter = ["day"]
    search_fields = ["api_key__prefix", "api_key__agent_id"]
    date_hierarchy = "day"
    list_select_related = ["api_key"]


@admin.register(DailySpend)
class DailySpendAdmin(ReadOnlyModelAdmin):
    """The closed days (written by the midnight job)."""

    list_display = ["day", "agent_id", "model", "calls", "refusals", "errors", "prompt_tokens",
                    "completion_tokens", "cost", "closed_at"]  # fmt: skip
    list_filter = ["day", "model", "agent_id"]
    search_fields = ["agent_id", "model"]
    date_hierarchy = "day"
