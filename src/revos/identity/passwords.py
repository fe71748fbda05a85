"""Password hashing: argon2id through pwdlib, off the event loop (a hash costs tens of milliseconds)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from revos.errors import ValidationFailed

# OWASP's argon2id setting (19 MiB, 2 passes, 1 lane): argon2-cffi's default (64 MiB, 3 passes, 4 lanes)
# costs about a second of a busy 2-core machine per sign-in. The parameters are stored in each hash, so
# a later change verifies old hashes as they were.
_HASHER = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),))


@lru_cache(maxsize=1)
def _dummy() -> str:
    """Verified against when the account does not exist, so a wrong email costs what a wrong password
    costs (made on first use: importing this module stays cheap for every `revos` command)."""
    return _HASHER.hash("revos-no-such-account")


MAX_LENGTH = 1024  # argon2 hashes any length; a bound keeps a megabyte "password" from costing more


def check_strength(password: str, *, min_length: int, email: str | None = None) -> None:
    if len(password) < min_length:
        raise ValidationFailed(f"the password must have at least {min_length} characters")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"the password must have at most {MAX_LENGTH} characters")
    if email and password.strip().lower() == email.strip().lower():
        raise ValidationFailed("the password must not be the email address")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify(password: str, encoded: str | None) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    if encoded is None:
        await asyncio.to_thread(_HASHER.verify, password, _dummy())
        return False
    try:
        return await asyncio.to_thread(_HASHER.verify, password, encoded)
    except Exception:  # an unreadable stored hash is a refusal, never a 500
        return False
