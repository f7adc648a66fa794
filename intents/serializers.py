from __future__ import annotations

import json
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from t4site.db import MAX_INT_COLUMN
from t4site.serializers import StrictInputSerializer

from .models import CODE_RE, ID_RE, RESERVED_IDS, TEXT_LIMIT, Intent, IntentStatus, IntentType
from .services import validate_file_path

SERVER_OWNED = ("created_at", "modified_at", "resolved_at", "created_by", "stale_since")


class _IntentFieldsInput(StrictInputSerializer):
    """Fields shared by create and patch; the server-owned ones get a clear refusal."""

    code = serializers.RegexField(CODE_RE, max_length=16)
    type = serializers.ChoiceField(choices=IntentType.choices, required=False)
    file = serializers.CharField(max_length=1024, trim_whitespace=True)
    line = serializers.IntegerField(min_value=1, max_value=MAX_INT_COLUMN)
    import_text = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_LIMIT)
    reason_category = serializers.CharField(required=False, allow_blank=True, max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_LIMIT)
    suggestion = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_LIMIT)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=128)
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=128)
    eta = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=IntentStatus.choices, required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    raw = serializers.JSONField(required=False)

    def validate_file(self, value: str) -> str:
        problem = validate_file_path(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_raw(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("raw must be a JSON object.")
        if "\\u0000" in json.dumps(value):  # PostgreSQL's JSON cannot hold a NUL
            raise serializers.ValidationError("raw must not contain NUL characters.")
        return value

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            owned = sorted(set(data) & set(SERVER_OWNED))
            if owned:
                raise serializers.ValidationError(
                    {name: ["Set by the server; clients cannot set it."] for name in owned}
                )
        elif data is not None:
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        return super().to_internal_value(data)


class IntentCreateInput(_IntentFieldsInput):
    id = serializers.RegexField(ID_RE, max_length=128)

    def validate_id(self, value: str) -> str:
        if value in RESERVED_IDS:
            raise serializers.ValidationError(f"'{value}' is reserved (a path of the API).")
        return value


class IntentPatchInput(_IntentFieldsInput):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "id" in data:
            raise serializers.ValidationError({"id": ["The id of an intent cannot change."]})
        return super().to_internal_value(data)


class IntentListQuery(StrictInputSerializer):
    status = serializers.CharField(required=False, help_text="One status or a comma list.")
    owner = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    file = serializers.CharField(required=False)
    q = serializers.CharField(required=False, max_length=200)
    stale = serializers.BooleanField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, min_value=1)
    offset = serializers.IntegerField(required=False, min_value=0)

    def validate_status(self, value: str) -> list[str]:
        statuses = [item.strip() for item in value.split(",") if item.strip()]
        unknown = sorted(set(statuses) - set(IntentStatus.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}.")
        return statuses


class PageQuery(StrictInputSerializer):
    limit = serializers.IntegerField(required=False, min_value=1)
    offset = serializers.IntegerField(required=False, min_value=0)


class StaleQuery(PageQuery):
    days = serializers.IntegerField(required=False, min_value=0, max_value=36_500, default=30)


class ByFileQuery(PageQuery):
    file = serializers.CharField(max_length=1024)


class IntentOutput(serializers.ModelSerializer):
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Intent
        fields = [
            "id",
            "code",
            "type",
            "file",
            "line",
            "import_text",
            "reason_category",
            "reason",
            "suggestion",
            "owner",
            "ticket",
            "eta",
            "status",
            "expires_at",
            "created_at",
            "modified_at",
            "resolved_at",
            "stale_since",
            "raw",
            "created_by",
        ]
        read_only_fields = fields

    def get_created_by(self, obj: Intent) -> str | None:
        key = obj.created_by
        return None if key is None else f"{key.display_prefix} ({key.agent_id})"


class MetricsSummaryOutput(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_code = serializers.DictField(child=serializers.IntegerField())
    quality_score = serializers.FloatField(allow_null=True)
    quality = serializers.DictField()
    avg_time_to_resolve_days = serializers.FloatField(allow_null=True)


class ReportSummaryInput(serializers.Serializer):
    total_findings = serializers.IntegerField(min_value=0, max_value=MAX_INT_COLUMN)
    annotated = serializers.IntegerField(min_value=0, max_value=MAX_INT_COLUMN)
    unannotated = serializers.IntegerField(min_value=0, max_value=MAX_INT_COLUMN)
    legacy_format = serializers.IntegerField(min_value=0, max_value=MAX_INT_COLUMN)
    waived = serializers.IntegerField(min_value=0, max_value=MAX_INT_COLUMN)
    quality_issues = serializers.IntegerField(min_value=0, max_value=MAX_INT_COLUMN)

    def to_internal_value(self, data):  # type: ignore[no-untyped-def]
        value = super().to_internal_value(data)
        # Extra counters (stale_annotations, files_checked, …) are kept as sent.
        extras = {k: v for k, v in data.items() if k not in value and isinstance(v, int)}
        return {**extras, **value}

    def validate(self, attrs: dict) -> dict:
        parts = ("annotated", "unannotated", "legacy_format", "waived")
        if attrs["total_findings"] != sum(attrs[name] for name in parts):
            raise serializers.ValidationError(
                "total_findings must equal annotated + unannotated + legacy_format + waived."
            )
        return attrs


class ReportInput(serializers.Serializer):
    """The validator's JSON report plus upload options.

    Not strict on purpose: the report carries lists (unannotated, quality_issues, …) that
    the server does not need; only the fields below are read and validated.
    """

    status = serializers.ChoiceField(choices=["pass", "fail"])
    timestamp = serializers.CharField(required=False, allow_null=True, max_length=64)
    summary = ReportSummaryInput()
    metrics = serializers.DictField(required=False, default=dict)
    annotations = serializers.ListField(
        child=serializers.DictField(), required=False, default=list, max_length=50_000
    )
    stale_annotations = serializers.ListField(
        child=serializers.DictField(), required=False, default=list, max_length=50_000
    )
    repository = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=200, default=""
    )
    commit = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=64, default=""
    )
    sync = serializers.BooleanField(required=False, default=False)

    def validate_timestamp(self, value: str | None) -> str | None:
        if value:
            try:
                parsed = parse_datetime(value)
            except ValueError:  # well-formed but impossible, e.g. month 13
                parsed = None
            if parsed is None:
                raise serializers.ValidationError("Not an ISO 8601 date and time.")
        return value

    def validate(self, attrs: dict) -> dict:
        attrs["repository"] = attrs.get("repository") or ""
        attrs["commit"] = attrs.get("commit") or ""
        return attrs


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    repository = serializers.CharField()
    commit = serializers.CharField()
    total_findings = serializers.IntegerField()
    annotated = serializers.IntegerField()
    unannotated = serializers.IntegerField()
    quality_score = serializers.FloatField(allow_null=True)
    sync = serializers.JSONField(source="sync_result", allow_null=True)
