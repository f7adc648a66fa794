"""API key material: generation, parsing and the keyed hash stored at rest.

A key reads ``t4_<prefix>_<secret>``: the 8-character prefix is public (it names the key in
lists and logs), the secret carries 256 bits of entropy. Only the prefix and an HMAC-SHA256
of the whole key are stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

from django.conf import settings

KEY_SCHEME = "t4"
PREFIX_LENGTH = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_KEY_RE = re.compile(r"^t4_(?P<prefix>[a-z0-9]{8})_(?P<secret>[A-Za-z0-9_\-]{32,128})$")


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    raw: str


def generate_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def generate_key(prefix: str) -> str:
    return f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"


def parse_key(raw: str) -> ParsedKey | None:
    """The prefix of a well-formed key, or None (legacy imported keys have no prefix)."""
    match = _KEY_RE.match(raw)
    return ParsedKey(prefix=match["prefix"], raw=raw) if match else None


def hash_key(raw: str) -> str:
    secret = settings.T4_API_KEY_HMAC_SECRET.encode("utf-8")
    return hmac.new(secret, raw.encode("utf-8"), hashlib.sha256).hexdigest()


def key_matches(raw: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(raw), stored_hash)
