"""Secret redaction shared by the request log, Python logging and error reports.

API keys look like ``t4_<prefix>_<secret>``; the prefix is public, the rest is not. Any
field whose name suggests a credential is replaced wholesale, and the configured admin
token is scrubbed wherever it appears literally.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

REDACTED = "[REDACTED]"
# The public prefix is kept so that a redacted key can still be traced to its record.
# Not \b: a key glued to a word ("note_t4_…") must be found as well.
_KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])(t4_[a-z0-9]{8})_[A-Za-z0-9_\-]{8,}")
_SENSITIVE_NAME = re.compile(
    r"(key|token|secret|passw|pwd|passphrase|^pass$|(?:^|_)auth(?:$|_)|cookie|credential"
    r"|signature)",
    re.I,
)


# The revoke route takes "a key or a prefix" (SPEC). Anything longer than a prefix reference
# ("t4_ab12cd34") there may be a whole key of a format the key pattern cannot recognise
# (keys imported from the legacy registry), so the path never keeps it: not in the request
# log, not in Django's "Not Found: …" log line.
_REVOKE_REFERENCE = re.compile(r"(/admin/api_keys/)([^/?#\s]{17,})")


def is_sensitive_name(name: str) -> bool:
    return bool(_SENSITIVE_NAME.search(name))


def contains_api_key(text: str) -> bool:
    return bool(_KEY_PATTERN.search(text))


def redact_text(text: str) -> str:
    """Scrub API keys and the admin token out of free text (paths, log lines, errors)."""
    if not text:
        return text
    text = _KEY_PATTERN.sub(lambda m: f"{m.group(1)}_{REDACTED}", text)
    if "/admin/api_keys/" in text:
        text = _REVOKE_REFERENCE.sub(
            lambda m: m.group(0) if REDACTED in m.group(2) else m.group(1) + REDACTED, text
        )
    token = getattr(settings, "T4_ADMIN_TOKEN", "")
    if token and len(token) >= 4 and token in text:
        text = text.replace(token, REDACTED)
    return text


def redact_data(value: Any) -> Any:
    """Recursively redact a decoded JSON document."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if is_sensitive_name(str(key)) else redact_data(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_data(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_query_string(query: str) -> str:
    if not query:
        return ""
    # ";" separates pairs too for some servers and frameworks: treat it like "&".
    pairs = parse_qsl(query.replace(";", "&"), keep_blank_values=True)
    cleaned = [(k, REDACTED if is_sensitive_name(k) else redact_text(v)) for k, v in pairs]
    return redact_text(urlencode(cleaned, safe="/:,"))


class RedactSecretsFilter(logging.Filter):
    """Logging filter: renders the message once, then scrubs secrets out of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            return True
        cleaned = redact_text(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        # The traceback too: handlers format exc_info only when exc_text is unset, so the
        # scrubbed text set here is what every handler writes.
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class SecretSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports hide credential-named query parameters as well as settings/headers."""

    def get_post_parameters(self, request):  # type: ignore[no-untyped-def]
        return super().get_post_parameters(request)

    def get_safe_request_meta(self, request):  # type: ignore[no-untyped-def]
        meta = super().get_safe_request_meta(request)
        if "QUERY_STRING" in meta:
            meta["QUERY_STRING"] = redact_query_string(meta["QUERY_STRING"])
        return meta
