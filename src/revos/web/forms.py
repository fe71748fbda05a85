"""Small helpers the marketers' pages share: reading posted forms into the domains' schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from revos.api.permissions import allowed
from revos.errors import ValidationFailed


def refusal(exc: ValidationError) -> str:
    """The first problem of a schema's refusal, as a person reads it ("name: field required")."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Every problem, by the top-level field it is about ("" for the whole form)."""
    out: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc", ())
        key = str(loc[0]) if loc else ""
        out.setdefault(key, str(error.get("msg", "invalid")).removeprefix("Value error, "))
    return out


def words(text: str) -> list[str]:
    """Comma- or line-separated words, blanks dropped."""
    return [w.strip() for w in text.replace("\n", ",").split(",") if w.strip()]


def optional(text: str) -> str | None:
    return text or None


def number(text: str, label: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ValidationFailed(f"{label}: not a number") from exc


def local_datetime(text: str, label: str) -> datetime | None:
    """An <input type="datetime-local"> value, read as UTC (the page says so)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed(f"{label}: not a date and time") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def datetime_local(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""


def compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def can(claims: Any, permission: str) -> bool:
    """Whether the signed-in person may `permission` (to show or hide a page's buttons)."""
    return allowed(claims, permission)
