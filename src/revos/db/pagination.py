"""Keyset pagination over (created_at, id): stable under inserts, O(page) at any depth."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from revos.errors import RevosError


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor we issue is ~110 characters; anything far longer was not issued by us.
MAX_CURSOR_LENGTH = 512


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor:
        return None
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("cursor too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        position = datetime.fromisoformat(created_at), UUID(row_id)
        if position[0].tzinfo is None:
            raise ValueError("cursor time has no time zone")
        return position
    except (ValueError, TypeError, RecursionError) as exc:
        raise RevosError(
            "malformed cursor; pass next_cursor from the previous page", status_code=400
        ) from exc


def keyset(cursor: str | None, limit: int) -> tuple[str, list[Any]]:
    """SQL fragment and params: `where <fragment> order by created_at desc, id desc limit n+1`."""
    position = decode_cursor(cursor)
    if position is None:
        return "true", []
    return "(created_at, id) < (%s, %s)", [position[0], position[1]]


def page_of(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode_cursor(last["created_at"], last["id"])
    return rows, None
