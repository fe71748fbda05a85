"""Building blocks shared by the Unipile models: the tolerant base model, 0/1 flags, attachments, lists."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict


def _to_bool(value: Any) -> Any:
    # Unipile prints booleans as 0/1 in messaging objects and as "true"/"false" in webhook examples.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0"}:
        return value.strip().lower() in {"true", "1"}
    return value


def _to_int(value: Any) -> Any:
    # Webhook examples print sizes as strings ("150"); the SDK types counts as `number`, so 3.0 (or 2.5)
    # is allowed too: a count is read as the whole number it holds.
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return value


def _to_datetime(value: Any) -> Any:
    """An ISO-8601 time, or None when the string is no time at all: the SDK types every timestamp as a
    plain string, and an unreadable one must not make the whole object unreadable."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:  # epoch milliseconds, as relations' `created_at`
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _to_list(value: Any) -> Any:
    # The messaging webhook example prints `attachments` as a single object; treat it as a one-item list.
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return value


Flag = Annotated[bool, BeforeValidator(_to_bool)]
LooseInt = Annotated[int, BeforeValidator(_to_int)]
Timestamp = Annotated[datetime | None, BeforeValidator(_to_datetime)]


class UnipileModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- shared -----------------------------------------------------------------------------------------------


class AttachmentSize(UnipileModel):
    width: LooseInt | None = None
    height: LooseInt | None = None


class Attachment(UnipileModel):
    id: str | None = None
    type: str | None = None  # img | video | audio | file | linkedin_post | video_meeting
    url: str | None = None
    mimetype: str | None = None
    file_size: LooseInt | None = None
    size: AttachmentSize | None = None
    sticker: Flag | None = None
    unavailable: Flag | None = None
    url_expires_at: Any = None


Attachments = Annotated[list[Attachment], BeforeValidator(_to_list)]

T = TypeVar("T")


class ListPage(UnipileModel, Generic[T]):
    """The v1 list envelope. `cursor` is required but null on the last page."""

    object: str
    items: list[T]
    cursor: str | None
    total_items: LooseInt | None = None
    paging: dict[str, Any] | None = None
