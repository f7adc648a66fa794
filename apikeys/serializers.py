from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from t4site.serializers import StrictInputSerializer

from .models import ALL_SCOPES, APIKey
from .services import MAX_DAILY_LIMIT, MAX_EXPIRY_DAYS


class ApiKeyCreateInput(StrictInputSerializer):
    agent_id = serializers.CharField(max_length=128)
    owner = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES), required=False, allow_empty=False
    )
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=MAX_EXPIRY_DAYS, required=False, allow_null=True, default=365
    )
    daily_limit = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MAX_DAILY_LIMIT,
        required=False,
        default=Decimal("100.00"),
    )
    rate_per_minute = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, default=120
    )


class ApiKeyOutput(serializers.ModelSerializer):
    prefix = serializers.CharField(source="display_prefix")
    status = serializers.CharField()

    class Meta:
        model = APIKey
        fields = [
            "prefix",
            "agent_id",
            "owner",
            "scopes",
            "status",
            "created_at",
            "created_by",
            "expires_at",
            "revoked_at",
            "rotated_at",
            "daily_limit",
            "rate_per_minute",
            "last_used_at",
        ]
        read_only_fields = fields


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.SerializerMethodField()
    warning = serializers.SerializerMethodField()

    class Meta(ApiKeyOutput.Meta):
        fields = ["key", "warning", *ApiKeyOutput.Meta.fields]
        read_only_fields = fields

    def get_key(self, obj: APIKey) -> str:
        return self.context["secret"]

    def get_warning(self, obj: APIKey) -> str:
        return "Store this key now: it is shown only once and cannot be recovered."


class RateOutput(serializers.Serializer):
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()
    reset_seconds = serializers.IntegerField()


class WhoAmIOutput(serializers.Serializer):
    prefix = serializers.CharField(source="display_prefix")
    agent_id = serializers.CharField()
    owner = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    daily_limit = serializers.DecimalField(max_digits=12, decimal_places=2)
    rate_per_minute = serializers.IntegerField()
