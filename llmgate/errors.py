"""The gate's refusals and upstream failures, as domain errors (see t4site.errors)."""

from __future__ import annotations

from t4site.errors import BudgetExceeded, DomainError, ServiceUnavailable

__all__ = [
    "BudgetExceeded",
    "GateNotConfigured",
    "UnpricedModel",
    "UnsupportedContent",
    "UpstreamError",
    "UpstreamTimeout",
]


class UnpricedModel(DomainError):
    status_code = 400
    code = "model_not_priced"


class UnsupportedContent(DomainError):
    status_code = 400
    code = "unsupported_content"


class GateNotConfigured(ServiceUnavailable):
    code = "llm_not_configured"


class UpstreamError(DomainError):
    status_code = 502
    code = "upstream_error"


class UpstreamTimeout(DomainError):
    status_code = 504
    code = "upstream_timeout"
