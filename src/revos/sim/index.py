"""Lookups of the world by owner, kept beside its tables so no call scans the whole world.

The world's tables (`World.members`, `.posts`, `.chats`, …) stay the ground truth, in insertion order;
`WorldIndex` holds, for each lookup a route needs, the same records grouped by what the route filters on
(chats by account, messages by sender, invitations by member…), each group in the tables' order. The world
adds to it in the same locked block where it adds to a table; nothing is ever removed from the tables
(withdrawn invitations and replaced reactions change in place), so the groups cannot go stale.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from revos.sim.ids import attendee_id
from revos.sim.models import Chat, Comment, Invitation, Member, Message, Post


class Attendee(NamedTuple):
    """Someone in an account's chats as Unipile lists them: one per (account, member), first chat first."""

    order: int  # position of first appearance over all chats
    account_id: str
    member: Member
    is_self: bool


class WorldIndex:
    def __init__(self) -> None:
        self.member_by_public_id: dict[str, Member] = {}
        self.commenters: list[Member] = []  # members whose persona comments on the accounts' posts
        self.relations: defaultdict[str, dict[str, datetime]] = defaultdict(dict)  # pid -> other pid -> since
        self.posts_by_author: defaultdict[str, list[Post]] = defaultdict(list)
        self.comments: dict[str, Comment] = {}
        self.invitations_by_account: defaultdict[str, list[Invitation]] = defaultdict(list)
        self.invitations_by_member: defaultdict[str, list[Invitation]] = defaultdict(list)
        self.chats_by_account: defaultdict[str, list[Chat]] = defaultdict(list)
        self.chats_by_participant: defaultdict[tuple[str, str], list[Chat]] = defaultdict(list)
        self.one_to_one: dict[tuple[str, str], Chat] = {}  # (account, attendee pid) -> the 1:1 chat
        self.attendees: dict[str, Attendee] = {}  # Unipile attendee id -> attendee
        self.attendees_by_account: defaultdict[str, list[Attendee]] = defaultdict(list)
        self._attendee_keys: set[tuple[str, str]] = set()
        self.messages_by_account: defaultdict[str, list[Message]] = defaultdict(list)
        self.messages_by_sender: defaultdict[tuple[str, str], list[Message]] = defaultdict(list)

    # ---- additions (called by the world under its lock) ---------------------------------------------------
    def add_member(self, member: Member) -> None:
        self.member_by_public_id.setdefault(member.public_identifier, member)
        if member.persona is not None and member.persona.comment != "none":
            self.commenters.append(member)

    def add_relation(self, a: str, b: str, since: datetime) -> None:
        self.relations[a][b] = since
        self.relations[b][a] = since

    def add_post(self, post: Post) -> None:
        self.posts_by_author[post.author.provider_id].append(post)

    def add_comment(self, comment: Comment) -> None:
        self.comments[comment.id] = comment

    def add_invitation(self, inv: Invitation) -> None:
        self.invitations_by_account[inv.account_id].append(inv)
        self.invitations_by_member[inv.member.provider_id].append(inv)

    def add_chat(self, chat: Chat) -> None:
        account_id = chat.account_id
        self.chats_by_account[account_id].append(chat)
        if len(chat.attendees) == 1:
            self.one_to_one.setdefault((account_id, chat.attendees[0].provider_id), chat)
        for member in chat.participants:
            key = (account_id, member.provider_id)
            group = self.chats_by_participant[key]
            if not group or group[-1] is not chat:  # a member listed twice is in the chat once
                group.append(chat)
            if key not in self._attendee_keys:
                self._attendee_keys.add(key)
                found = Attendee(len(self.attendees), account_id, member, member is chat.owner)
                self.attendees[attendee_id(account_id, member.provider_id)] = found
                self.attendees_by_account[account_id].append(found)

    def add_message(self, msg: Message) -> None:
        self.messages_by_account[msg.account_id].append(msg)
        self.messages_by_sender[(msg.account_id, msg.sender.provider_id)].append(msg)

    # ---- lookups ------------------------------------------------------------------------------------------
    def chats_of(self, account_ids: list[str]) -> list[Chat]:
        return [c for a in dict.fromkeys(account_ids) for c in self.chats_by_account.get(a, ())]

    def messages_of(self, account_ids: list[str]) -> list[Message]:
        return [m for a in dict.fromkeys(account_ids) for m in self.messages_by_account.get(a, ())]

    def attendees_of(self, account_ids: list[str]) -> list[Attendee]:
        """The accounts' attendees in order of first appearance over all chats."""
        found = [x for a in dict.fromkeys(account_ids) for x in self.attendees_by_account.get(a, ())]
        return sorted(found, key=lambda x: x.order) if len(account_ids) > 1 else found
