"""Per-client API keys: `rvs_<prefix>_<secret>`, shown once, stored as a SHA-256 hash.

The prefix is stored in clear so a key can be found without scanning; the secret part has 256
bits of entropy, so a fast hash is the right tool (a password hash would add latency to every
request and no security).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX_BYTES = 6
SECRET_BYTES = 32
SCHEME = "rvs"


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    prefix: str
    hash: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate() -> NewKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    plaintext = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(plaintext, prefix, hash_key(plaintext))


def split(plaintext: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


def matches(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), stored_hash)
