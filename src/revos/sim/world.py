"""State and rules of the simulated LinkedIn: every API action lands here as a method.

Methods raise `SimError` with Unipile's status and type; they emit `Event`s that the simulator turns
into webhooks and persona reactions. A re-entrant lock guards state because `serve_in_thread` lets a
test thread mutate the world while the server thread handles requests.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from revos.clock import Clock
from revos.sim.errors import SimError, invalid, not_found, too_many_requests
from revos.sim.ids import IdFactory, slug
from revos.sim.index import WorldIndex
from revos.sim.models import (
    REACTIONS,
    Account,
    Chat,
    Comment,
    Engagement,
    EngagementKind,
    Event,
    Invitation,
    Login,
    Member,
    Message,
    Post,
)

# Conservative daily caps per account (spec §10.1); exceeding one gives 429 errors/too_many_requests.
DEFAULT_BUDGETS: dict[str, int] = {
    "invitations": 100,
    "profile_views": 150,
    "messages": 150,
    "comments": 200,
    "reactions": 300,
    "posts": 25,
    "reposts": 50,
}
INVITE_NOTE_MAX = 300
COMMENT_MAX = 1250
RESEND_INVITATION_AFTER = timedelta(days=21)
# How long a messaging resync takes (GET /accounts/{id}/sync): polled, it reads STARTED, RUNNING, then DONE.
RESYNC_DURATION = timedelta(seconds=30)


class World:
    def __init__(self, clock: Clock, ids: IdFactory, budgets: dict[str, int] | None = None) -> None:
        self.clock = clock
        self.ids = ids
        self.lock = threading.RLock()
        self.budgets = {**DEFAULT_BUDGETS, **(budgets or {})}
        self.members: dict[str, Member] = {}
        self.logins: list[Login] = []
        self.accounts: dict[str, Account] = {}
        self.posts: dict[str, Post] = {}
        self.invitations: dict[str, Invitation] = {}
        self.chats: dict[str, Chat] = {}
        self.messages: dict[str, Message] = {}
        self.connections: dict[frozenset[str], datetime] = {}
        self.engagements: list[Engagement] = []  # every reaction, comment and repost, in order
        self.files: dict[str, Any] = {}  # attachment id -> the upload (http.Upload), for downloads
        self.usage: Counter[tuple[str, str, str]] = Counter()  # (account, kind, day)
        self.listeners: list[Callable[[Event], None]] = []
        self.index = WorldIndex()  # the tables above grouped by owner; added to with them, under the lock
        self._seq = 0
        self._login_members: set[str] = set()
        self._logins_read = 0

    # ---- plumbing -------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def emit(self, kind: str, account_id: str, **data: Any) -> None:
        event = Event(kind, account_id, data)
        for listener in list(self.listeners):
            listener(event)

    # ---- members and relations ------------------------------------------------------------
    def new_member(self, first_name: str, last_name: str, headline: str = "", **kw: Any) -> Member:
        with self.lock:
            member = Member(
                provider_id=self.ids.member(),
                public_identifier=slug(first_name, last_name, self.ids.hex()),
                first_name=first_name,
                last_name=last_name,
                headline=headline or f"{first_name} at Example Co",
                member_urn=self.ids.member_urn_number(),
                created_at=self.now(),
                **kw,
            )
            self.members[member.provider_id] = member
            self.index.add_member(member)
            return member

    def find_member(self, identifier: str) -> Member:
        member = self.members.get(identifier)
        if member is None:
            member = self.index.member_by_public_id.get(identifier)
        if member is None:
            raise not_found("User")
        return member

    def is_login_member(self, member: Member) -> bool:
        """Whether `member` owns one of the logins (`logins` only grows: the new ones are read on the way)."""
        with self.lock:
            for login in self.logins[self._logins_read :]:
                self._login_members.add(login.member.provider_id)
            self._logins_read = len(self.logins)
            return member.provider_id in self._login_members

    def connect(self, a: Member, b: Member) -> bool:
        """Make two members 1st-degree; returns False when they already were."""
        with self.lock:
            key = frozenset((a.provider_id, b.provider_id))
            if key in self.connections:
                return False
            since = self.connections[key] = self.now()
            self.index.add_relation(a.provider_id, b.provider_id, since)
            return True

    def is_connected(self, a: Member, b: Member) -> bool:
        return frozenset((a.provider_id, b.provider_id)) in self.connections

    def distance(self, viewer: Member, member: Member) -> str:
        if viewer is member:
            return "SELF"
        return "FIRST_DEGREE" if self.is_connected(viewer, member) else member.default_distance

    def relations_of(self, member: Member) -> list[tuple[Member, datetime]]:
        """The member's 1st-degree connections with the time each was made, oldest first."""
        with self.lock:
            found = list(self.index.relations.get(member.provider_id, {}).items())
        return [(self.members[other_id], since) for other_id, since in found]

    def relation_count(self, member: Member) -> int:
        return len(self.index.relations.get(member.provider_id, ()))

    # ---- accounts -------------------------------------------------------------------------
    def resync(self, account: Account) -> str:
        """One poll of a messaging resync: a new one starts unless one is running (spec §4.3)."""
        now = self.now()
        with self.lock:
            started = account.sync_started_at
            if started is None:
                account.sync_started_at = now
                return "SYNC_STARTED"
            if now - started < RESYNC_DURATION:
                return "SYNC_RUNNING"
            account.sync_started_at = None  # the next call starts afresh
        self.emit("account_status", account.id, message="SYNC_SUCCESS")
        return "SYNC_DONE"

    def account(self, account_id: str | None, *, usable: bool = True) -> Account:
        """The account, checked the way LinkedIn-facing routes check it (401 disconnected, 403 restricted)."""
        if not account_id:
            raise SimError(400, "missing_parameters", "Missing required parameter: account_id")
        account = self.accounts.get(account_id)
        if account is None:
            raise SimError(404, "resource_not_found", "Account not found")
        if usable and account.status == "CREDENTIALS":
            raise SimError(
                401, "disconnected_account", "The account appears to be disconnected from the provider."
            )
        if usable and account.restricted:
            raise SimError(403, "account_restricted", "The account is restricted by the provider.")
        return account

    def spend(self, account: Account, kind: str) -> int:
        """Count one action against today's budget; returns the % used. 429 once the cap is reached."""
        day = self.now().date().isoformat()
        limit = account.budgets.get(kind, self.budgets.get(kind, 10**9))
        key = (account.id, kind, day)
        if self.usage[key] >= limit:
            raise too_many_requests()
        self.usage[key] += 1
        return int(100 * self.usage[key] / limit) if limit else 100

    def set_status(self, account: Account, status: str, message: str | None = None) -> None:
        with self.lock:
            account.status = status
        self.emit("account_status", account.id, message=message or status)

    # ---- posts, comments, reactions -------------------------------------------------------
    def create_post(
        self, author: Member, text: str, account_id: str | None = None, attachments: list[Any] | None = None
    ) -> Post:
        with self.lock:
            post = Post(
                seq=self.next_seq(),
                id=self.ids.activity(),
                author=author,
                text=text,
                created_at=self.now(),
                account_id=account_id,
                attachments=attachments or [],
            )
            self.posts[post.id] = post
            self.index.add_post(post)
        self.emit("post", account_id or "", post=post)
        return post

    def add_past_post(self, author: Member, text: str, created_at: datetime) -> Post:
        """A post written before the simulation started: no event, so no webhook and no persona reacts."""
        with self.lock:
            post = Post(
                seq=self.next_seq(), id=self.ids.activity(), author=author, text=text, created_at=created_at
            )
            self.posts[post.id] = post
            self.index.add_post(post)
        return post

    def find_post(self, post_id: str) -> Post:
        raw = post_id.rsplit(":", 1)[-1] if post_id.startswith("urn:li:") else post_id
        post = self.posts.get(raw)
        if post is None:
            raise not_found("Post")
        return post

    def find_comment(self, post: Post, comment_id: str) -> Comment:
        comment = self.index.comments.get(comment_id)
        if comment is None or comment.post is not post:
            raise not_found("Comment")
        return comment

    def add_comment(
        self,
        post: Post,
        author: Member,
        text: str,
        reply_to: Comment | None = None,
        account_id: str | None = None,
    ) -> Comment:
        if not text:
            raise invalid("text must not be empty")
        if len(text) > COMMENT_MAX:
            raise SimError(400, "too_many_characters", f"Comment text exceeds {COMMENT_MAX} characters")
        with self.lock:
            # LinkedIn threads are one level deep: a reply to a reply joins the top comment's thread.
            parent = (reply_to.parent or reply_to) if reply_to else None
            comment = Comment(
                seq=self.next_seq(),
                id=self.ids.activity(),
                post=post,
                author=author,
                text=text,
                created_at=self.now(),
                parent=parent,
                account_id=account_id,
            )
            post.comments.append(comment)
            self.index.add_comment(comment)
            post.impressions_counter += 1  # whoever engages has seen it
            if parent is not None:
                parent.replies.append(comment)
            self._engaged(
                "comment",
                post,
                author,
                account_id,
                comment_id=comment.id,
                reply_to=parent.id if parent else None,
                text=text,
            )
        self.emit("comment", account_id or "", comment=comment)
        return comment

    def react(
        self,
        post: Post,
        who: Member,
        reaction_type: str,
        comment: Comment | None = None,
        account_id: str | None = None,
    ) -> None:
        value = REACTIONS.get(reaction_type.lower())
        if value is None:
            raise invalid(f"reaction_type must be one of {', '.join(REACTIONS)}")
        with self.lock:
            # Re-reacting replaces the previous reaction, as in the LinkedIn UI; counters don't double.
            target = comment.reactions if comment else post.reactions
            replaced = who.provider_id in target
            if not replaced:
                post.impressions_counter += 1
            target[who.provider_id] = value
            self._engaged(
                "reaction",
                post,
                who,
                account_id,
                value=value,
                comment_id=comment.id if comment else None,
                replaced=replaced,
            )

    def repost(self, original: Post, who: Member, text: str, account_id: str | None = None) -> Post:
        """Share `original` in `who`'s feed (with `text` as commentary, or none): a post of its own."""
        with self.lock:
            shared = original.repost_of or original  # reposting a repost shares the original
            post = Post(
                seq=self.next_seq(),
                id=self.ids.activity(),
                author=who,
                text=text,
                created_at=self.now(),
                account_id=account_id,
                repost_of=shared,
            )
            self.posts[post.id] = post
            self.index.add_post(post)
            shared.repost_counter += 1
            shared.impressions_counter += 1
            self._engaged("repost", shared, who, account_id, text=text or None, repost_id=post.id)
        return post

    def _engaged(
        self, kind: EngagementKind, post: Post, who: Member, account_id: str | None, **detail: Any
    ) -> Engagement:
        author = post.author.provider_id
        record = Engagement(kind, post.id, author, who.provider_id, self.now(), account_id, **detail)
        self.engagements.append(record)
        return record

    # ---- invitations ----------------------------------------------------------------------
    def invite(self, account: Account, member: Member, message: str | None) -> tuple[Invitation, int]:
        if message is not None and len(message) > INVITE_NOTE_MAX:
            raise SimError(
                400, "too_many_characters", f"The invitation message exceeds {INVITE_NOTE_MAX} characters"
            )
        with self.lock:
            if member is account.owner:
                raise SimError(422, "cannot_invite_attendee", "You cannot invite yourself")
            if self.is_connected(account.owner, member):
                raise SimError(422, "cannot_invite_attendee", "The recipient is already a connection")
            for inv in self.index.invitations_by_member.get(member.provider_id, ()):
                if inv.account_id != account.id or inv.member is not member:
                    continue
                if inv.status in ("PENDING", "IGNORED"):
                    raise SimError(
                        422, "already_invited_recently", "An invitation was already sent to this user"
                    )
                recent = inv.decided_at and self.now() - inv.decided_at < RESEND_INVITATION_AFTER
                if inv.status == "WITHDRAWN" and recent:
                    raise SimError(422, "cannot_resend_yet", "The invitation was withdrawn too recently")
            usage = self.spend(account, "invitations")
            inv = Invitation(
                self.next_seq(), self.ids.unipile(), account.id, member, message or None, self.now()
            )
            self.invitations[inv.id] = inv
            self.index.add_invitation(inv)
        self.emit("invitation", account.id, invitation=inv)
        return inv, usage

    def accept_invitation(self, inv: Invitation) -> bool:
        """The invitee accepts: 1st degree, a `new_relation`, and the note becomes a chat (spec §8)."""
        with self.lock:
            if inv.status not in ("PENDING", "IGNORED"):
                return False
            inv.status, inv.decided_at = "ACCEPTED", self.now()
            account = self.accounts.get(inv.account_id)
            if account is None:
                return False
            self.connect(account.owner, inv.member)
            if inv.message:
                chat = self.chat_with(account, [inv.member], inmail=False)
                self.post_message(chat, account.owner, inv.message, invitation_note=True)
        self.emit("new_relation", account.id, member=inv.member)
        return True

    # ---- messaging ------------------------------------------------------------------------
    def chat_with(self, account: Account, attendees: list[Member], inmail: bool) -> Chat:
        """Reuse the 1:1 chat with that member if there is one (spec §11), else open one."""
        with self.lock:
            if len(attendees) == 1:
                existing = self.index.one_to_one.get((account.id, attendees[0].provider_id))
                if existing is not None:
                    return existing
            chat = Chat(
                seq=self.next_seq(),
                id=self.ids.unipile(),
                provider_id=self.ids.thread(),
                account_id=account.id,
                owner=account.owner,
                attendees=list(attendees),
                created_at=self.now(),
                inmail=inmail,
            )
            self.chats[chat.id] = chat
            self.index.add_chat(chat)
            return chat

    def post_message(
        self,
        chat: Chat,
        sender: Member,
        text: str | None,
        attachments: list[Any] | None = None,
        invitation_note: bool = False,
    ) -> Message:
        with self.lock:
            msg = Message(
                seq=self.next_seq(),
                id=self.ids.unipile(),
                provider_id=self.ids.thread(),
                account_id=chat.account_id,
                chat=chat,
                sender=sender,
                text=text,
                created_at=self.now(),
                is_sender=sender is chat.owner,
                attachments=attachments or [],
            )
            chat.messages.append(msg)
            self.messages[msg.id] = msg
            self.index.add_message(msg)
            if msg.is_sender:
                chat.read_until = msg.seq  # answering a chat reads it
        self.emit("message", chat.account_id, message=msg, invitation_note=invitation_note)
        return msg

    def find_chat(self, chat_id: str) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise SimError(404, "resource_not_found", "Account, chat or thread not found")
        return chat
