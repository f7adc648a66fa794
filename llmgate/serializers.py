"""Input and output shapes of the LLM gate's endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from t4site.serializers import StrictInputSerializer

from .gate import MAX_TOKENS_CAP, ChatParams, default_max_tokens
from .models import LLMUsage

ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def _check_messages(messages: list[Any]) -> list[dict[str, Any]]:
    if not messages:
        raise serializers.ValidationError("At least one message is required.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise serializers.ValidationError(f"messages[{index}] must be an object.")
        if message.get("role") not in ROLES:
            raise serializers.ValidationError(
                f"messages[{index}].role must be one of {', '.join(ROLES)}."
            )
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise serializers.ValidationError(
                f"messages[{index}].content must be a string or a list of parts."
            )
    return messages


class ChatInput(StrictInputSerializer):
    """POST /llm/chat: ``prompt`` or ``messages``, ``model``, ``max_tokens``."""

    model = serializers.CharField(max_length=128)
    prompt = serializers.CharField(required=False, trim_whitespace=False)
    messages = serializers.ListField(child=serializers.JSONField(), required=False)
    max_tokens = serializers.IntegerField(
        min_value=1, max_value=MAX_TOKENS_CAP, required=False, default=None, allow_null=True
    )

    def validate_messages(self, value: list[Any]) -> list[dict[str, Any]]:
        return _check_messages(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("prompt" in attrs) == ("messages" in attrs):
            raise serializers.ValidationError("Send exactly one of prompt or messages.")
        return attrs

    def to_params(self) -> ChatParams:
        data = self.validated_data
        messages = data.get("messages") or [{"role": "user", "content": data["prompt"]}]
        return ChatParams(
            model=data["model"],
            messages=messages,
            max_tokens=data.get("max_tokens") or default_max_tokens(),
        )


class ChatOutput(serializers.Serializer):
    text = serializers.CharField()
    model = serializers.CharField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=24, decimal_places=10)
    estimated_cost = serializers.DecimalField(max_digits=24, decimal_places=10)
    remaining_today = serializers.DecimalField(max_digits=24, decimal_places=10)
    request_id = serializers.CharField()


class ChatCompletionsInput(serializers.Serializer):
    """POST /v1/chat/completions. Not strict: every other OpenAI field passes through."""

    model = serializers.CharField(max_length=128)
    # No child field: the body is parsed JSON already, so a JSONField child would only
    # re-encode every message to prove it is JSON; _check_messages checks each one instead.
    messages = serializers.ListField()
    stream = serializers.BooleanField(required=False, default=False, allow_null=True)
    stream_options = serializers.DictField(required=False, allow_null=True)
    n = serializers.IntegerField(min_value=1, max_value=128, required=False, allow_null=True)
    max_tokens = serializers.IntegerField(
        min_value=1, max_value=MAX_TOKENS_CAP, required=False, allow_null=True
    )
    max_completion_tokens = serializers.IntegerField(
        min_value=1, max_value=MAX_TOKENS_CAP, required=False, allow_null=True
    )

    def validate_messages(self, value: list[Any]) -> list[dict[str, Any]]:
        return _check_messages(value)

    def to_params(self, raw: dict[str, Any]) -> ChatParams:
        data = self.validated_data
        passthrough = {key: value for key, value in raw.items() if key not in self.fields}
        field = "max_completion_tokens"
        max_tokens = data.get("max_completion_tokens")
        if max_tokens is None and data.get("max_tokens") is not None:
            field, max_tokens = "max_tokens", data["max_tokens"]
        stream = bool(data.get("stream"))
        options = data.get("stream_options") or {}
        if stream and options:
            passthrough["stream_options"] = options
        return ChatParams(
            model=data["model"],
            messages=data["messages"],
            max_tokens=max_tokens or default_max_tokens(),
            max_tokens_field=field,
            choices=data.get("n") or 1,
            stream=stream,
            client_wants_usage=bool(options.get("include_usage")),
            passthrough=passthrough,
        )


class UsageQuery(StrictInputSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False, default=20)


class UsageRowOutput(serializers.ModelSerializer):
    class Meta:
        model = LLMUsage
        fields = [
            "request_id",
            "created_at",
            "model",
            "status",
            "prompt_tokens",
            "completion_tokens",
            "estimated_cost",
            "cost",
            "latency_ms",
            "streamed",
            "error",
        ]


class UsageOutput(serializers.Serializer):
    day = serializers.DateField()
    agent_id = serializers.CharField()
    daily_limit = serializers.DecimalField(max_digits=12, decimal_places=2)
    spent = serializers.DecimalField(max_digits=24, decimal_places=10)
    reserved = serializers.DecimalField(max_digits=24, decimal_places=10)
    remaining = serializers.DecimalField(max_digits=24, decimal_places=10)
    calls = serializers.IntegerField()
    refusals = serializers.IntegerField()
    recent = UsageRowOutput(many=True)
