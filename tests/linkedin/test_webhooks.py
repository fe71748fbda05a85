"""Inbound webhook payloads (spec §9), parsed as printed in Unipile's docs, quirks included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from revos.linkedin import (
    AccountStatusEvent,
    MessagingEvent,
    NewRelationEvent,
    WebhookPayloadError,
    is_own_message,
    parse_webhook,
    verify_webhook_secret,
)

# The official example, verbatim in shape: attachments as ONE object, sizes and booleans as strings.
MESSAGE_RECEIVED = {
    "account_id": "dfXlh46vQYCsMbVarumWlg",
    "account_type": "LINKEDIN",
    "account_info": {"type": "LINKEDIN", "feature": "classic", "user_id": "ACoAAAown"},
    "event": "message_received",
    "chat_id": "R8J-xM9WX7eoHLp6gSVtWQ",
    "timestamp": "2023-09-24T13:49:07.965Z",
    "webhook_name": "Webhook demo",
    "message_id": "ykmhfXlRW0W_cqReJYrfBw",
    "message": "Hello World !",
    "sender": {
        "attendee_id": "C8zaRZTlVcmfnke_Vai4Gg",
        "attendee_name": "Kim Unipile",
        "attendee_provider_id": "ACoAAAcDkim",
        "attendee_profile_url": "https://www.linkedin.com/in/ACoAAAcDkim/",
    },
    "attendees": [
        {
            "attendee_id": "x",
            "attendee_name": "Kim Unipile",
            "attendee_provider_id": "ACoAAAcDkim",
            "attendee_profile_url": "https://www.linkedin.com/in/ACoAAAcDkim/",
        }
    ],
    "attachments": {
        "id": "att1",
        "type": "img",
        "mimetype": "image/jpeg",
        "url": "att://abc",
        "size": {"height": "150", "width": "150"},
        "sticker": "false",
        "unavailable": "false",
    },
}


def test_message_received_example_with_quirks() -> None:
    event = parse_webhook(json.dumps(MESSAGE_RECEIVED).encode())
    assert isinstance(event, MessagingEvent)
    assert event.event == "message_received"
    assert event.message_id == "ykmhfXlRW0W_cqReJYrfBw"
    assert event.timestamp == datetime(2023, 9, 24, 13, 49, 7, 965000, tzinfo=UTC)
    assert len(event.attachments) == 1
    att = event.attachments[0]
    assert att.size is not None
    assert (att.size.width, att.size.height) == (150, 150)
    assert att.sticker is False
    assert att.unavailable is False
    assert event.sender is not None
    assert event.sender.attendee_name == "Kim Unipile"
    assert not event.is_own_message


def test_attachments_as_array_and_absent_are_both_fine() -> None:
    as_array = dict(MESSAGE_RECEIVED, attachments=[MESSAGE_RECEIVED["attachments"]] * 2)
    assert len(parse_webhook(as_array).attachments) == 2  # type: ignore[union-attr]
    absent = {k: v for k, v in MESSAGE_RECEIVED.items() if k != "attachments"}
    assert parse_webhook(absent).attachments == []  # type: ignore[union-attr]
    null = dict(MESSAGE_RECEIVED, attachments=None)
    assert parse_webhook(null).attachments == []  # type: ignore[union-attr]


def test_own_message_is_recognised() -> None:
    # Messages the account sends itself also arrive as message_received.
    own = dict(MESSAGE_RECEIVED, sender=dict(MESSAGE_RECEIVED["sender"], attendee_provider_id="ACoAAAown"))
    event = parse_webhook(own)
    assert isinstance(event, MessagingEvent)
    assert event.is_own_message
    assert is_own_message(event)


def test_own_message_needs_both_ids() -> None:
    no_info = {k: v for k, v in MESSAGE_RECEIVED.items() if k != "account_info"}
    event = parse_webhook(no_info)
    assert isinstance(event, MessagingEvent)
    assert not event.is_own_message


def test_reaction_event_keeps_reaction_and_unknown_fields() -> None:
    payload = dict(
        MESSAGE_RECEIVED,
        event="message_reaction",
        reaction="😄",
        reaction_sender=MESSAGE_RECEIVED["sender"],
        brand_new_field={"x": 1},
    )
    event = parse_webhook(payload)
    assert isinstance(event, MessagingEvent)
    assert event.reaction == "😄"
    assert event.reaction_sender is not None
    assert event.model_extra == {"brand_new_field": {"x": 1}}


def test_account_status_payload_is_flattened() -> None:
    body = (
        b'{"AccountStatus": {"account_id": "h_EKCy2lRLef5NzHp0iw4A", "account_type": "LINKEDIN", '
        b'"message": "CREDENTIALS"}}'
    )
    event = parse_webhook(body)
    assert isinstance(event, AccountStatusEvent)
    assert (event.account_id, event.status) == ("h_EKCy2lRLef5NzHp0iw4A", "CREDENTIALS")
    assert event.needs_reconnect
    assert not event.healthy


def test_new_relation_payload() -> None:
    payload = {
        "event": "new_relation",
        "account_id": "acc",
        "account_type": "LINKEDIN",
        "webhook_name": "",
        "user_full_name": "Julien C",
        "user_provider_id": "ACoAAAh_x",
        "user_public_identifier": "julien-crepieux",
        "user_profile_url": "https://www.linkedin.com/in/julien-crepieux/",
        "user_picture_url": "https://media.licdn.com/x",
    }
    event = parse_webhook(payload)
    assert isinstance(event, NewRelationEvent)
    assert event.user_provider_id == "ACoAAAh_x"


def test_form_encoded_delivery() -> None:
    form = {k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in MESSAGE_RECEIVED.items()}
    event = parse_webhook(urlencode(form).encode())
    assert isinstance(event, MessagingEvent)
    assert event.sender is not None
    assert event.sender.attendee_provider_id == "ACoAAAcDkim"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="broken-json"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param({"event": "mail_received", "account_id": "a"}, id="unknown-event"),
        pytest.param({"event": "message_received", "account_id": "a"}, id="missing-chat-id"),
        pytest.param({"event": "new_relation", "account_id": "a"}, id="relation-without-user"),
    ],
)
def test_unrecognised_payloads_raise(body: bytes | dict[str, object]) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_webhook(body)


def test_secret_header_check() -> None:
    assert verify_webhook_secret({"x-revos-webhook-secret": "s3cret"}, "s3cret")
    assert verify_webhook_secret([("X-Revos-Webhook-Secret", "s3cret")], "s3cret")
    assert not verify_webhook_secret({"X-Revos-Webhook-Secret": "wrong"}, "s3cret")
    assert not verify_webhook_secret({}, "s3cret")
    assert not verify_webhook_secret({"X-Revos-Webhook-Secret": ""}, "")
    repeated = [("X-Revos-Webhook-Secret", "s3cret"), ("X-Revos-Webhook-Secret", "other")]
    assert not verify_webhook_secret(repeated, "s3cret")
