"""System checks that refuse an unsafe production configuration."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

UNSAFE_SECRET_KEYS = {"", "insecure-development-key-change-me"}


@register(Tags.security, deploy=False)
def check_admin_token(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    if settings.DEBUG:
        return []
    errors = []
    token = (settings.T4_ADMIN_TOKEN or "").strip()
    if not token or token.upper().startswith("CHANGE_ME"):
        errors.append(
            Error(
                "T4_ADMIN_TOKEN is empty or still the CHANGE_ME placeholder.",
                hint="Set T4_ADMIN_TOKEN to a long random value (e.g. `openssl rand -hex 32`), "
                "or set DEBUG=1 for local development.",
                id="t4site.E001",
            )
        )
    if settings.SECRET_KEY in UNSAFE_SECRET_KEYS:
        errors.append(
            Error(
                "SECRET_KEY is not set.",
                hint="Set SECRET_KEY (and T4_API_KEY_HMAC_SECRET) in the environment.",
                id="t4site.E002",
            )
        )
    return errors
