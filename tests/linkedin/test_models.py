"""Models tolerate the contract's quirks and still fail when a required field is missing."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from revos.linkedin.models import (
    AccountCreated,
    Chat,
    Checkpoint,
    ConnectResult,
    ListPage,
    Message,
    Post,
    UserProfile,
)

MESSAGE = {
    "object": "Message",
    "id": "m1",
    "account_id": "acc",
    "chat_id": "c1",
    "sender_id": "ACoA1",
    "text": None,
    "attachments": [],
    "timestamp": "2025-01-01T10:00:00.000Z",
    "is_sender": 1,
    "seen": 0,
    "delivered": 1,
    "brand_new": "kept",
}


def test_message_flags_are_0_1_integers() -> None:
    msg = Message.model_validate(MESSAGE)
    assert msg.is_sender is True
    assert msg.seen is False
    assert msg.delivered is True
    assert msg.text is None
    assert msg.model_extra == {"brand_new": "kept"}


def test_missing_required_field_fails() -> None:
    with pytest.raises(ValidationError):
        Message.model_validate({k: v for k, v in MESSAGE.items() if k != "sender_id"})


def test_connect_result_branches_on_object() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(ConnectResult)
    created = adapter.validate_python({"object": "AccountCreated", "account_id": "a"})
    assert isinstance(created, AccountCreated)
    cp = adapter.validate_python({"object": "Checkpoint", "account_id": "a", "checkpoint": {"type": "2FA"}})
    assert isinstance(cp, Checkpoint)
    assert cp.needs_code
    assert cp.solvable
    captcha = adapter.validate_python(
        {"object": "Checkpoint", "account_id": "a", "checkpoint": {"type": "CAPTCHA", "public_key": "k"}}
    )
    assert isinstance(captcha, Checkpoint)
    assert not captcha.solvable
    assert not captcha.needs_code
    app = adapter.validate_python(
        {"object": "Checkpoint", "account_id": "a", "checkpoint": {"type": "IN_APP_VALIDATION"}}
    )
    assert isinstance(app, Checkpoint)
    assert app.solvable
    assert not app.needs_code
    with pytest.raises(ValidationError):
        adapter.validate_python({"object": "Surprise", "account_id": "a"})


def test_company_post_with_null_author_id() -> None:
    post = Post.model_validate(
        {
            "object": "Post",
            "provider": "LINKEDIN",
            "id": "7332661864792854528",
            "social_id": "urn:li:activity:7332661864792854528",
            "share_url": "https://www.linkedin.com/posts/x",
            "text": "hello",
            "date": "3d",
            "parsed_datetime": "2025-05-26T19:01:02.468Z",
            "reaction_counter": 6,
            "comment_counter": 0,
            "repost_counter": 0,
            "impressions_counter": 0,
            "author": {"public_identifier": "unipile", "id": None, "name": "Unipile", "is_company": True},
            "permissions": {"can_react": True, "can_share": True, "can_post_comments": True},
            "is_repost": False,
            "attachments": [{"id": "a", "type": "img", "size": {"width": 800, "height": 1002}}],
        }
    )
    assert post.author.id is None
    assert post.attachments[0].size is not None


def test_profile_nullable_names_and_chat_muted_until_forms() -> None:
    profile = UserProfile.model_validate(
        {
            "object": "UserProfile",
            "provider": "LINKEDIN",
            "provider_id": "ACoA1",
            "public_identifier": None,
            "first_name": None,
            "last_name": "Lee",
            "headline": "",
            "websites": [],
        }
    )
    assert profile.full_name == "Lee"
    assert not profile.is_first_degree
    base = {
        "object": "Chat",
        "id": "c",
        "account_id": "a",
        "account_type": "LINKEDIN",
        "provider_id": "p",
        "name": None,
        "type": 0,
        "timestamp": None,
        "unread_count": 0,
        "archived": 0,
        "read_only": 0,
    }
    for muted in (-1, "2026-01-01T00:00:00.000Z", None):
        assert Chat.model_validate(dict(base, muted_until=muted)).muted_until == muted
    chat = Chat.model_validate(dict(base, muted_until=None, lastMessage=MESSAGE))
    assert chat.last_message is not None
    assert chat.last_message.id == "m1"


def test_list_envelope_requires_cursor_key() -> None:
    page = ListPage[Message].model_validate({"object": "MessageList", "items": [MESSAGE], "cursor": None})
    assert page.cursor is None
    assert page.items[0].id == "m1"
    with pytest.raises(ValidationError):
        ListPage[Message].model_validate({"object": "MessageList", "items": []})
