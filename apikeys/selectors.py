"""API key reads."""

from __future__ import annotations

from django.db.models import QuerySet

from t4site.db import get_by_column

from .crypto import hash_key, key_matches, parse_key
from .models import APIKey


def apikey_get_by_secret(*, raw: str) -> APIKey | None:
    """The record a presented key belongs to, whatever its state, or None.

    Well-formed keys are looked up by their public prefix and then compared in constant
    time; keys imported from the legacy registry have no prefix and are found by hash.
    This runs on every authenticated request, hence ``get_by_column`` (see t4site.db).
    """
    parsed = parse_key(raw)
    if parsed is not None:
        key = get_by_column(APIKey, "prefix", parsed.prefix)
    else:
        key = get_by_column(APIKey, "key_hash", hash_key(raw))
    if key is None or not key_matches(raw, key.key_hash):
        return None
    return key


def apikey_get_by_reference(*, reference: str) -> APIKey | None:
    """Resolve an admin's reference: a full key, ``t4_<prefix>`` or the bare prefix."""
    reference = reference.strip()
    if parse_key(reference) is not None or len(reference) > 40:
        return apikey_get_by_secret(raw=reference)
    prefix = reference.removeprefix("t4_").rstrip("_…")
    return APIKey.objects.filter(prefix=prefix).first()


def apikey_list() -> QuerySet[APIKey]:
    return APIKey.objects.order_by("-created_at")
