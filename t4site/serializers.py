"""Serializer building blocks shared by every app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .redaction import contains_api_key


def _fields_with_api_keys(data: Any, path: str = "") -> list[str]:
    """Names of fields whose value (at any depth) contains something shaped like a T4 key."""
    if isinstance(data, dict):
        found: list[str] = []
        for key, value in data.items():
            found += _fields_with_api_keys(value, path or str(key))
        return found
    if isinstance(data, list):
        return [name for item in data for name in _fields_with_api_keys(item, path)]
    if isinstance(data, str) and contains_api_key(data):
        return [path or "non_field_errors"]
    return []


class StrictInputSerializer(serializers.Serializer):
    """Input serializer that rejects fields it does not know, naming them."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        unknown_errors = {name: ["Unknown field."] for name in unknown}
        # A secret pasted into a data field would be stored and shown in plain text.
        leaked = _fields_with_api_keys(data)
        if leaked:
            message = "Looks like an API key: never send secrets in data fields."
            raise serializers.ValidationError({name: [message] for name in leaked})
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown_errors and isinstance(exc.detail, dict):
                exc.detail.update(unknown_errors)
            raise
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value
