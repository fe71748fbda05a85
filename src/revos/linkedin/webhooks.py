"""Inbound Unipile webhook payloads: parsing (tolerant to the documented quirks) and authentication.

Quirks handled (spec §9): `attachments` printed as one object instead of an array, string-typed scalars
("150", "false"), missing optional keys, unknown keys, a body that is form-encoded or lacks a JSON
Content-Type. Unipile retries deliveries up to 5 times, so consumers dedupe on `message_id`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from pydantic import AliasChoices, Field, ValidationError

from revos import jsonsafe
from revos.linkedin.messaging import WEBHOOK_SECRET_HEADER
from revos.linkedin.models import Attachments, UnipileModel


class WebhookPayloadError(ValueError):
    """The body is not a Unipile webhook payload we understand; answer 400 and log it."""


class AccountInfo(UnipileModel):
    type: str | None = None
    feature: str | None = None  # classic | sales_navigator | recruiter | organization
    user_id: str | None = None


class WebhookAttendee(UnipileModel):
    attendee_id: str | None = None
    attendee_name: str | None = None
    attendee_provider_id: str | None = None
    attendee_profile_url: str | None = None


class MessagingEvent(UnipileModel):
    """`source: messaging` — message_received / _read / _reaction / _edited / _deleted / _delivered."""

    event: str
    account_id: str
    account_type: str | None = None
    account_info: AccountInfo | None = None
    chat_id: str
    timestamp: datetime | None = None
    webhook_name: str | None = None
    message_id: str | None = None
    message: str | None = None
    sender: WebhookAttendee | None = None
    attendees: list[WebhookAttendee] = Field(default_factory=list)
    attachments: Attachments = Field(default_factory=list)
    reaction: str | None = None
    reaction_sender: WebhookAttendee | None = None

    @property
    def is_own_message(self) -> bool:
        return is_own_message(self)


class AccountStatusEvent(UnipileModel):
    """`source: account_status` — the payload nests everything under `AccountStatus`; we flatten it."""

    account_id: str
    account_type: str | None = None
    # OK, ERROR, STOPPED, CREDENTIALS, CONNECTING, DELETED, CREATION_SUCCESS, RECONNECTED, SYNC_SUCCESS
    status: str = Field(validation_alias=AliasChoices("message", "status"))
    product: str | None = None

    @property
    def needs_reconnect(self) -> bool:
        return self.status == "CREDENTIALS"

    @property
    def healthy(self) -> bool:
        return self.status in {"OK", "CREATION_SUCCESS", "RECONNECTED", "SYNC_SUCCESS"}


class NewRelationEvent(UnipileModel):
    """`source: users`, event `new_relation`: an invitation was accepted (can lag by up to ~8 hours)."""

    event: str = "new_relation"
    account_id: str
    account_type: str | None = None
    webhook_name: str | None = None
    user_full_name: str | None = None
    user_provider_id: str
    user_public_identifier: str | None = None
    user_profile_url: str | None = None
    user_picture_url: str | None = None


WebhookEvent = MessagingEvent | AccountStatusEvent | NewRelationEvent


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """Parse one delivery into a typed event. Raises `WebhookPayloadError` for anything unrecognised."""
    data = decode_body(body) if isinstance(body, bytes | str) else dict(body)
    try:
        if isinstance(data.get("AccountStatus"), Mapping):
            return AccountStatusEvent.model_validate(data["AccountStatus"])
        event = data.get("event")
        if event == "new_relation":
            return NewRelationEvent.model_validate(data)
        if (isinstance(event, str) and event.startswith("message_")) or "chat_id" in data:
            return MessagingEvent.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise WebhookPayloadError(f"invalid {event or 'account_status'} payload (fields: {fields})") from exc
    raise WebhookPayloadError(f"unknown webhook payload (event={event!r})")


def decode_body(body: bytes | str) -> dict[str, Any]:
    """The delivery as a dict: a JSON object, or `format: form` urlencoded fields (nested values arrive as
    JSON strings). Depth and numbers are bounded (`revos.jsonsafe`); text is kept as sent, so a caller can
    tell an unstorable message from an unreadable one."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.strip()
    if text.startswith("{"):
        try:
            data = jsonsafe.loads(text, text_must_be_storable=False)
        except jsonsafe.JSONRefused as exc:
            raise WebhookPayloadError(f"webhook body is not usable JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise WebhookPayloadError("webhook body is not a JSON object")
        return data
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=200)
    except ValueError as exc:
        raise WebhookPayloadError("webhook form has too many fields") from exc
    if not pairs:
        raise WebhookPayloadError("empty or unrecognised webhook body")
    return {key: _maybe_json(key, value) for key, value in pairs}


def _maybe_json(key: str, value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return jsonsafe.loads(value, text_must_be_storable=False)
        except jsonsafe.JSONRefused as exc:
            if "nested deeper" in str(exc):
                raise WebhookPayloadError(f"form field {key[:50]!r}: {exc}") from exc
            return value
    return value


def is_own_message(event: MessagingEvent) -> bool:
    """True when the connected account itself sent the message (from another device or via the API).

    Unipile reports those as `message_received` too; without this check revOS would treat its own DM as
    the lead's reply.
    """
    own = event.account_info.user_id if event.account_info else None
    sender = event.sender.attendee_provider_id if event.sender else None
    return bool(own) and own == sender


def verify_webhook_secret(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    expected: str,
    *,
    header: str = WEBHOOK_SECRET_HEADER,
) -> bool:
    """Constant-time check of the shared-secret header we asked Unipile to send with each delivery."""
    if not expected:
        return False  # an unset secret must never authenticate anything
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = header.lower()
    values = [v for k, v in items if k.lower() == wanted]
    if len(values) != 1:
        return False  # absent, or repeated (ambiguous): refuse
    return hmac.compare_digest(values[0].encode("utf-8"), expected.encode("utf-8"))
