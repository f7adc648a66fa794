"""Per-key rate limiting on django-ratelimit's fixed-window counters in the default cache.

With Redis as the cache the counters are shared by every worker process and host, so the
limit holds for the whole deployment; with the embedded LocMem cache it is per process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.http import HttpRequest
from django_ratelimit.core import get_usage

from t4site.errors import ServiceUnavailable

from .models import APIKey

logger = logging.getLogger(__name__)
RATE_GROUP = "t4.apikey"


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_seconds: int
    exceeded: bool


def rate_consume(request: HttpRequest, api_key: APIKey, *, increment: bool = True) -> RateState:
    """Count one request against the key's per-minute window and report what is left."""
    try:
        usage = get_usage(
            request,
            group=RATE_GROUP,
            key=lambda _group, _request: api_key.prefix,
            rate=f"{api_key.rate_per_minute}/m",
            increment=increment,
        )
    except Exception as exc:
        # Fail closed but clearly: without the shared counter the limit cannot be enforced.
        logger.error("rate-limit cache unavailable: %s", type(exc).__name__)
        raise ServiceUnavailable(
            "Rate limiter unavailable; retry shortly.", code="rate_limiter_unavailable"
        ) from exc
    if usage is None:  # RATELIMIT_ENABLE = False
        return RateState(api_key.rate_per_minute, api_key.rate_per_minute, 60, False)
    if usage["limit"] == 0 and usage["time_left"] == -1:
        raise ServiceUnavailable(
            "Rate limiter unavailable; retry shortly.", code="rate_limiter_unavailable"
        )
    limit = usage["limit"]
    return RateState(
        limit=limit,
        remaining=max(0, limit - usage["count"]),
        reset_seconds=max(1, usage["time_left"]),
        exceeded=usage["should_limit"],
    )
