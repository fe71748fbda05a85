"""World records -> Unipile v1 JSON objects (spec §4–§9). Field names and casing follow the spec exactly.

Every body conforms to the response schemas of Unipile's own SDK (tests/contract/schemas): an optional field
the schema types as a plain string or object is left out when there is nothing to say, never sent as null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from revos.sim.ids import attendee_id, iso, relative_date
from revos.sim.models import Account, Chat, Comment, Invitation, Member, Message, Post
from revos.sim.webhooks import Webhook
from revos.sim.world import World


def account(acc: Account) -> dict[str, Any]:
    owner = acc.owner
    return {
        "object": "Account",
        "type": "LINKEDIN",
        "id": acc.id,
        "name": owner.name,
        "created_at": iso(acc.created_at),
        "connection_params": {
            "im": {
                "id": owner.provider_id,
                "publicIdentifier": owner.public_identifier,
                "username": acc.login.username,
                "premiumId": None,
                "premiumContractId": None,
                "premiumFeatures": ["premium"] if acc.login.premium else [],
                "organizations": [],
            }
        },
        "groups": [],
        "sources": [{"id": acc.source_id, "status": acc.status}],
    }


def _present(**fields: Any) -> dict[str, Any]:
    """The optional fields that have a value: Unipile omits the others rather than sending null."""
    return {k: v for k, v in fields.items() if v is not None}


def profile(world: World, viewer: Member, m: Member) -> dict[str, Any]:
    distance = world.distance(viewer, m)
    pending = next(
        (
            i
            for i in list(world.index.invitations_by_member.get(m.provider_id, ()))
            if i.member is m
            and i.status in ("PENDING", "IGNORED")
            and world.accounts[i.account_id].owner is viewer
        ),
        None,
    )
    return {
        "object": "UserProfile",
        "provider": "LINKEDIN",
        "provider_id": m.provider_id,
        "public_identifier": m.public_identifier,
        "member_urn": m.member_urn,
        "first_name": m.first_name,
        "last_name": m.last_name,
        "headline": m.headline,
        "location": m.location,
        "websites": [],
        "public_profile_url": m.profile_url,
        "is_open_profile": m.is_open_profile,
        "is_premium": m.is_premium,
        "can_send_inmail": m.is_open_profile,
        "is_relationship": distance == "FIRST_DEGREE",
        "is_self": viewer is m,
        "network_distance": "FIRST_DEGREE" if distance == "SELF" else distance,
        **_present(invitation={"type": "SENT", "status": "PENDING"} if pending else None),
        "follower_count": 120 + len(m.provider_id),
        "connections_count": world.relation_count(m),
        "shared_connections_count": 0,
    }


def owner_profile(acc: Account) -> dict[str, Any]:
    m = acc.owner
    return {
        "object": "AccountOwnerProfile",
        "provider": "LINKEDIN",
        "provider_id": m.provider_id,
        "entity_urn": f"urn:li:fsd_profile:{m.provider_id}",
        "object_urn": f"urn:li:member:{m.member_urn}",
        "first_name": m.first_name,
        "last_name": m.last_name,
        "profile_picture_url": None,
        "public_profile_url": m.profile_url,
        "public_identifier": m.public_identifier,
        "headline": m.headline,
        "location": m.location,
        "email": acc.login.username,
        "premium": acc.login.premium,
        "open_profile": False,
        "organizations": [],
        "recruiter": None,
        "sales_navigator": None,
    }


def relation(m: Member, since: datetime) -> dict[str, Any]:
    return {
        "object": "UserRelation",
        "first_name": m.first_name,
        "last_name": m.last_name,
        "headline": m.headline,
        "public_identifier": m.public_identifier,
        "public_profile_url": m.profile_url,
        "created_at": int(since.timestamp() * 1000),
        "member_id": m.provider_id,
        "member_urn": f"urn:li:member:{m.member_urn}",
        "connection_urn": f"urn:li:fsd_connection:{m.provider_id}",
    }


def post(world: World, p: Post, viewer: Member | None) -> dict[str, Any]:
    return {
        "object": "Post",
        "provider": "LINKEDIN",
        "id": p.id,
        "social_id": p.social_id,
        "share_url": f"https://www.linkedin.com/posts/{p.author.public_identifier}_activity-{p.id}",
        "text": p.text,
        "date": relative_date(p.created_at, world.now()),
        "parsed_datetime": iso(p.created_at),
        "reaction_counter": len(p.reactions),
        "comment_counter": len(p.comments),
        "repost_counter": p.repost_counter,
        "impressions_counter": p.impressions_counter,
        **_present(user_reacted=p.reactions.get(viewer.provider_id) if viewer else None),
        "author": {
            "public_identifier": p.author.public_identifier,
            "id": p.author.provider_id,
            "name": p.author.name,
            "is_company": False,
            "headline": p.author.headline,
        },
        "permissions": {"can_react": True, "can_share": True, "can_post_comments": True},
        "is_repost": p.repost_of is not None,
        **(_repost(world, p) if p.repost_of is not None else {}),
        "attachments": p.attachments,
    }


def _repost(world: World, p: Post) -> dict[str, Any]:
    """The repost_* fields of a repost: the post shared (its id, author and text) and who shared it."""
    shared = p.repost_of
    assert shared is not None
    return {
        "repost_id": shared.id,
        "reposted_by": _short_author(p.author),
        "repost_content": {
            "id": shared.id,
            "date": relative_date(shared.created_at, world.now()),
            "parsed_datetime": iso(shared.created_at),
            "author": _short_author(shared.author),
            "text": shared.text,
        },
    }


def _short_author(m: Member) -> dict[str, Any]:
    return {"public_identifier": m.public_identifier, "name": m.name, "is_company": False}


def comment(world: World, c: Comment, viewer: Member | None) -> dict[str, Any]:
    return {
        "object": "Comment",
        "id": c.id,
        "post_id": c.post.id,
        "post_urn": c.post.social_id,
        "thread_id": (c.parent or c).id,
        "author": c.author.name,
        "author_details": {
            "id": c.author.provider_id,
            "headline": c.author.headline,
            "profile_url": c.author.profile_url,
            "network_distance": _distance(world, viewer, c.author),
        },
        "date": iso(c.created_at),
        "text": c.text,
        "reaction_counter": len(c.reactions),
        "reply_counter": len(c.replies),
        "impressions_counter": 0,
        **_present(user_reacted=c.reactions.get(viewer.provider_id) if viewer else None),
    }


def reaction(world: World, who: Member, value: str, viewer: Member | None) -> dict[str, Any]:
    return {
        "object": "PostReaction",
        "value": value,
        "author": {
            "id": who.provider_id,
            "type": "INDIVIDUAL",
            "name": who.name,
            "headline": who.headline,
            "profile_url": who.profile_url,
            "network_distance": _distance(world, viewer, who),
        },
    }


def _distance(world: World, viewer: Member | None, m: Member) -> str | None:
    if viewer is None:
        return None
    d = world.distance(viewer, m)
    return "FIRST_DEGREE" if d == "SELF" else d


def invitation(inv: Invitation) -> dict[str, Any]:
    m = inv.member
    return {
        "object": "InvitationSent",
        "id": inv.id,
        "invited_user": m.name,
        "invited_user_id": m.provider_id,
        "invited_user_public_id": m.public_identifier,
        "invited_user_description": m.headline,
        "date": iso(inv.created_at),
        "parsed_datetime": iso(inv.created_at),
        "invitation_text": inv.message,
        "specifics": {"provider": "LINKEDIN", "shared_secret": inv.id[:8]},
    }


def chat(world: World, c: Chat, with_last: bool = False) -> dict[str, Any]:
    one = c.attendees[0] if len(c.attendees) == 1 else None
    out: dict[str, Any] = {
        "object": "Chat",
        "id": c.id,
        "account_id": c.account_id,
        "account_type": "LINKEDIN",
        "provider_id": c.provider_id,
        **_present(attendee_provider_id=one.provider_id if one else None),
        "name": one.name if one else (c.subject or ", ".join(m.name for m in c.attendees)),
        "type": 0 if one else 1,
        "timestamp": iso(c.updated_at),
        "unread_count": c.unread_count,
        "archived": 0,
        "muted_until": None,
        "read_only": 0,
        **_present(subject=c.subject, content_type="inmail" if c.inmail else None),
        "folder": ["INBOX", "INBOX_LINKEDIN_CLASSIC"],
        "pinned": 0,
        "disabledFeatures": [],
    }
    if with_last:
        out["lastMessage"] = message(world, c.messages[-1]) if c.messages else None
    return out


def message(world: World, m: Message) -> dict[str, Any]:
    return {
        "object": "Message",
        "id": m.id,
        "account_id": m.account_id,
        "chat_id": m.chat.id,
        "chat_provider_id": m.chat.provider_id,
        "provider_id": m.provider_id,
        "sender_id": m.sender.provider_id,
        "sender_attendee_id": attendee_id(m.account_id, m.sender.provider_id),
        "text": m.text,
        "attachments": m.attachments,
        "timestamp": iso(m.created_at),
        "is_sender": int(m.is_sender),
        "seen": int(m.seen),
        "seen_by": {},
        "delivered": 1,
        "hidden": 0,
        "deleted": 0,
        "edited": 0,
        "is_event": 0,
        "reactions": [],
        "behavior": None,
        "original": "{}",
        "message_type": "MESSAGE",
        "attendee_type": "MEMBER",
    }


def attendee(account_id: str, m: Member, is_self: bool) -> dict[str, Any]:
    return {
        "object": "ChatAttendee",
        "id": attendee_id(account_id, m.provider_id),
        "account_id": account_id,
        "provider_id": m.provider_id,
        "name": m.name,
        "is_self": int(is_self),
        "profile_url": m.profile_url,
        "specifics": {"provider": "LINKEDIN", "member_urn": f"urn:li:member:{m.member_urn}"},
    }


def webhook_attendee(account_id: str, m: Member) -> dict[str, Any]:
    return {
        "attendee_id": attendee_id(account_id, m.provider_id),
        "attendee_name": m.name,
        "attendee_provider_id": m.provider_id,
        "attendee_profile_url": f"https://www.linkedin.com/in/{m.provider_id}/",
    }


def webhook(world: World, h: Webhook) -> dict[str, Any]:
    return {
        "object": "Webhook",
        "id": h.id,
        "account_ids": [
            {"id": a, **_present(name=_account_name(world, a)), "type": "LINKEDIN"} for a in h.account_ids
        ],
        "enabled": h.enabled,
        "name": h.name,
        "request_url": h.request_url,
        "format": h.format,
        "headers": h.headers,
        "data": h.data,
        # The list names no `source` (spec §9.1), and the SDK knows only messaging and mail events: a
        # users or account_status webhook is listed without them.
        **_present(events=h.events if h.source in ("messaging", "email", "email_tracking") else None),
        "type": "AUTO",
    }


def _account_name(world: World, account_id: str) -> str | None:
    account = world.accounts.get(account_id)
    return account.owner.name if account else None
