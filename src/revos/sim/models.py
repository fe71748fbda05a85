"""The modeled LinkedIn world: plain records the world mutates and the routes serialize, and the scripts
(`Persona`) members follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from revos.sim.emails import LANGUAGES, STYLES

# Unipile's read-model reaction values (spec §6.7) keyed by the lower-case write values.
REACTIONS = {
    "like": "LIKE",
    "celebrate": "PRAISE",
    "support": "APPRECIATION",
    "love": "EMPATHY",
    "insightful": "INTEREST",
    "funny": "ENTERTAINMENT",
}
DISTANCES = ("FIRST_DEGREE", "SECOND_DEGREE", "THIRD_DEGREE", "OUT_OF_NETWORK")
CommentMode = Literal["none", "trigger", "plain", "twice"]
ReplyMode = Literal["email", "no_email", "never"]
InviteMode = Literal["accept", "ignore", "none"]
EngagementKind = Literal["reaction", "comment", "repost"]


@dataclass
class Persona:
    """A member's script. Delays are seconds of simulated time; `jitter` spreads them (0.2 = ±20%)."""

    comment: CommentMode = "none"
    trigger_word: str = "GUIDE"
    comment_text: str | None = None
    comment_delay: float = 600.0
    reply: ReplyMode = "never"
    email: str | None = None  # defaults to first.last@<example domain>
    email_style: str = "plain"  # one of emails.STYLES, or "random"
    language: str = "en"  # one of emails.LANGUAGES, or "random"
    reply_delay: float = 1800.0
    max_replies: int = 1
    on_invite: InviteMode = "accept"
    invite_delay: float = 3600.0
    reply_to_invitation_note: bool = False  # the note opens the chat; answering it is opt-in
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.email_style not in (*STYLES, "random"):
            raise ValueError(f"email_style must be one of {STYLES} or 'random'")
        if self.language not in (*LANGUAGES, "random"):
            raise ValueError(f"language must be one of {LANGUAGES} or 'random'")


@dataclass(eq=False)
class Member:
    provider_id: str
    public_identifier: str
    first_name: str
    last_name: str
    headline: str
    member_urn: str
    created_at: datetime
    persona: Persona | None = None
    default_distance: str = "SECOND_DEGREE"
    location: str = "Paris, Île-de-France, France"
    is_open_profile: bool = False
    is_premium: bool = False
    email: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def profile_url(self) -> str:
        return f"https://www.linkedin.com/in/{self.public_identifier}/"


@dataclass(eq=False)
class Login:
    """A LinkedIn login the simulator knows; becomes a Unipile account once connected via the API."""

    username: str
    password: str
    access_token: str
    checkpoints: list[str]
    code: str
    member: Member
    premium: bool = False
    account_id: str | None = None

    @property
    def provider_id(self) -> str:
        return self.member.provider_id

    @property
    def name(self) -> str:
        return self.member.name


@dataclass(eq=False)
class Intent:
    """An authentication intent waiting on checkpoints; lives ~5 minutes (spec §4.2)."""

    account_id: str
    login: Login
    pending: list[str]
    created_at: datetime
    reconnect: bool
    state: str = "pending"  # pending | expired | done
    last_resend: datetime | None = None


@dataclass(eq=False)
class Account:
    id: str
    login: Login
    created_at: datetime
    source_id: str
    status: str = "OK"
    restricted: bool = False
    budgets: dict[str, int] = field(default_factory=dict)
    sync_started_at: datetime | None = None  # a messaging resync in progress

    @property
    def owner(self) -> Member:
        return self.login.member


@dataclass(eq=False)
class Comment:
    seq: int
    id: str
    post: Post
    author: Member
    text: str
    created_at: datetime
    parent: Comment | None = None
    replies: list[Comment] = field(default_factory=list)
    reactions: dict[str, str] = field(default_factory=dict)  # provider_id -> LIKE…
    account_id: str | None = None  # set when written through the API by a connected account


@dataclass(eq=False)
class Post:
    seq: int
    id: str
    author: Member
    text: str
    created_at: datetime
    account_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)  # every comment, replies included
    reactions: dict[str, str] = field(default_factory=dict)
    repost_counter: int = 0
    impressions_counter: int = 0
    repost_of: Post | None = None  # set on a repost: the post shared

    @property
    def social_id(self) -> str:
        return f"urn:li:activity:{self.id}"

    @property
    def top_level(self) -> list[Comment]:
        return [c for c in self.comments if c.parent is None]


@dataclass
class Engagement:
    """Ground truth: one reaction, comment or repost that took effect, whoever made it and however (through
    the API by a connected account, or by hand in a test). A reaction that replaces an earlier one by the
    same member is recorded again (`replaced=True`): LinkedIn shows one, but the call was made twice."""

    kind: EngagementKind
    post_id: str  # numeric id of the post engaged with
    author_id: str  # provider id of that post's author
    actor_id: str  # provider id of the member who engaged
    at: datetime
    account_id: str | None = None  # the connected account that acted through the API; None: by hand
    value: str | None = None  # reaction: LIKE, PRAISE…
    comment_id: str | None = None  # comment: the comment written; reaction: the comment reacted to, if any
    reply_to: str | None = None  # comment: the comment it answers
    text: str | None = None  # comment or repost commentary
    repost_id: str | None = None  # repost: the new post's id
    replaced: bool = False  # reaction: the member had already reacted to the same target

    @property
    def target(self) -> tuple[str, str, str, str | None]:
        """What makes two engagements the same one: kind, post, actor (and, for a reaction, the comment)."""
        return (self.kind, self.post_id, self.actor_id, self.comment_id if self.kind == "reaction" else None)


@dataclass(eq=False)
class Invitation:
    seq: int
    id: str
    account_id: str
    member: Member
    message: str | None
    created_at: datetime
    status: str = "PENDING"  # PENDING | ACCEPTED | IGNORED | WITHDRAWN
    decided_at: datetime | None = None


@dataclass(eq=False)
class Message:
    seq: int
    id: str
    provider_id: str
    account_id: str
    chat: Chat
    sender: Member
    text: str | None
    created_at: datetime
    is_sender: bool
    attachments: list[dict[str, Any]] = field(default_factory=list)
    seen: bool = False

    @property
    def recipients(self) -> list[Member]:
        return [m for m in self.chat.participants if m is not self.sender]


@dataclass(eq=False)
class Chat:
    seq: int
    id: str
    provider_id: str
    account_id: str
    owner: Member
    attendees: list[Member]  # everyone but the account owner
    created_at: datetime
    inmail: bool = False
    subject: str | None = None
    messages: list[Message] = field(default_factory=list)
    read_until: int = 0  # seq of the last message the owner has read

    @property
    def participants(self) -> list[Member]:
        return [self.owner, *self.attendees]

    @property
    def updated_at(self) -> datetime:
        return self.messages[-1].created_at if self.messages else self.created_at

    @property
    def unread_count(self) -> int:
        return sum(1 for m in self.messages if not m.is_sender and m.seq > self.read_until)


@dataclass
class Event:
    """Something happened in the world that webhooks or personas may react to."""

    kind: str  # message | account_status | new_relation | post | invitation
    account_id: str
    data: dict[str, Any]
