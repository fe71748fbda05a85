"""Identifiers, timestamps and cursors in Unipile's shapes, all deterministic from the seed."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
from datetime import UTC, datetime
from typing import Any

from revos.sim.errors import SimError, invalid

_URLSAFE = string.ascii_letters + string.digits + "-_"
_PROVIDER = string.ascii_letters + string.digits + "_-"
ISO_MS = re.compile(r"^[1-2]\d{3}-[0-1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class IdFactory:
    """One seeded generator: the same seed and the same sequence of calls give the same ids."""

    def __init__(self, seed: int | str) -> None:
        self._rng = random.Random(f"ids:{seed}")
        # LinkedIn activity ids are 19-digit, time-ordered numbers; counting up keeps them ordered.
        self._activity = 7_300_000_000_000_000_000 + self._rng.randrange(10**15)

    def unipile(self) -> str:
        return "".join(self._rng.choice(_URLSAFE) for _ in range(22))

    def member(self) -> str:
        return "ACoAA" + "".join(self._rng.choice(_PROVIDER) for _ in range(34))

    def activity(self) -> str:
        self._activity += self._rng.randrange(1_000, 5_000_000)
        return str(self._activity)

    def member_urn_number(self) -> str:
        return str(self._rng.randrange(10**8, 10**9))

    def hex(self, n: int = 6) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def thread(self) -> str:
        raw = "".join(self._rng.choice(_URLSAFE) for _ in range(40))
        return "2-" + base64.b64encode(raw.encode()).decode().rstrip("=")


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as every Unipile timestamp."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso_filter(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not ISO_MS.match(value):
        raise invalid(f"{name} must match YYYY-MM-DDTHH:MM:SS.sssZ")
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def relative_date(then: datetime, now: datetime) -> str:
    """How LinkedIn displays a post's age ('now', '5m', '3h', '2d', '1w', '4mo', '1yr')."""
    s = max(0, int((now - then).total_seconds()))
    for unit, size in (("yr", 31_536_000), ("mo", 2_592_000), ("w", 604_800), ("d", 86_400), ("h", 3_600)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s // 60}m" if s >= 60 else "now"


def slug(*parts: str) -> str:
    text = "-".join(p for p in parts if p).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "member"


def encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    if cursor == "":
        raise invalid("cursor must not be empty")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError(400, "invalid_parameters", "Invalid cursor") from exc
    if not isinstance(data, dict):
        raise SimError(400, "invalid_parameters", "Invalid cursor")
    return data


def attendee_id(account_id: str, provider_id: str) -> str:
    """A stable Unipile attendee id per (account, member), as Unipile keeps one per account."""
    digest = hashlib.sha256(f"{account_id}:{provider_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
