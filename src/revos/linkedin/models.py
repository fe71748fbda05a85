"""Pydantic v2 models of Unipile v1 bodies (LinkedIn subset).

Tolerance rules, all from the contract notes (spec/unipile-v1.md):
* unknown fields are kept (`extra="allow"`): Unipile adds fields without notice;
* messaging flags are 0/1 integers (`Flag` accepts 0/1, bools and "true"/"false" strings);
* numbers the SDK types as `number` are read as integers (counts, 0/1/2 codes), and timestamps that do not
  parse read as None: the schema says "string", and a count or a time that cannot be read must not cost
  the rest of the object;
* fields the reference marks as optional or nullable default to None, required ones have no default, so a
  response missing a required key fails validation (`UnipileProtocolError` in the client);
* `object` is the discriminator: each response model pins its literal.
Request bodies live in `requests.py`; inbound webhook payloads in `webhooks.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

# Re-exported: the shared building blocks are part of this module's public surface.
from revos.linkedin._model_base import Attachment as Attachment
from revos.linkedin._model_base import Attachments as Attachments
from revos.linkedin._model_base import AttachmentSize as AttachmentSize
from revos.linkedin._model_base import Flag as Flag
from revos.linkedin._model_base import ListPage as ListPage
from revos.linkedin._model_base import LooseInt as LooseInt
from revos.linkedin._model_base import Timestamp as Timestamp
from revos.linkedin._model_base import UnipileModel as UnipileModel

# --- accounts ---------------------------------------------------------------------------------------------


class AccountSource(UnipileModel):
    id: str
    status: str  # OK | STOPPED | ERROR | CREDENTIALS | PERMISSIONS | CONNECTING


class LinkedInConnectionParams(UnipileModel):
    # Unipile uses camelCase here, unlike everywhere else.
    id: str | None = None
    public_identifier: str | None = Field(default=None, alias="publicIdentifier")
    username: str | None = None
    premium_id: str | None = Field(default=None, alias="premiumId")
    premium_contract_id: str | None = Field(default=None, alias="premiumContractId")
    premium_features: list[str] | None = Field(default=None, alias="premiumFeatures")
    organizations: list[dict[str, Any]] | None = None


class ConnectionParams(UnipileModel):
    im: LinkedInConnectionParams | None = None


class Account(UnipileModel):
    object: Literal["Account"] = "Account"
    type: str
    id: str
    name: str | None
    created_at: Timestamp = None
    connection_params: ConnectionParams
    groups: list[Any]
    sources: list[AccountSource]
    current_signature: str | None = None
    signatures: list[dict[str, Any]] | None = None

    @property
    def status(self) -> str | None:
        """The account's health, as Unipile reports it on its (first) source."""
        return self.sources[0].status if self.sources else None


class AccountCreated(UnipileModel):
    object: Literal["AccountCreated"]
    account_id: str


class AccountReconnected(UnipileModel):
    object: Literal["AccountReconnected"]
    account_id: str


class CheckpointDetails(UnipileModel):
    type: str  # 2FA | OTP | IN_APP_VALIDATION | PHONE_REGISTER | CAPTCHA | CONTRACT_CHOOSER | QRCODE
    source: str | None = None
    public_key: str | None = None
    data: Any = None
    contract_options: list[dict[str, Any]] | None = None


# Checkpoint types a user can answer by typing something into our UI.
CODE_CHECKPOINTS = frozenset({"2FA", "OTP", "PHONE_REGISTER", "CONTRACT_CHOOSER"})


class Checkpoint(UnipileModel):
    object: Literal["Checkpoint"]
    account_id: str
    checkpoint: CheckpointDetails

    @property
    def type(self) -> str:
        return self.checkpoint.type

    @property
    def needs_code(self) -> bool:
        return self.checkpoint.type in CODE_CHECKPOINTS

    @property
    def solvable(self) -> bool:
        """False for CAPTCHA: Unipile cannot solve it server-side and neither can we."""
        return self.checkpoint.type != "CAPTCHA"


ConnectResult = Annotated[AccountCreated | AccountReconnected | Checkpoint, Field(discriminator="object")]


class CheckpointResend(UnipileModel):
    object: Literal["CheckpointResend"]
    account_id: str | None = None
    success: bool | None = None


class AccountDeleted(UnipileModel):
    object: Literal["AccountDeleted"]


class AccountResync(UnipileModel):
    """One poll of a LinkedIn messaging resync; poll the same route until SYNC_DONE or SYNC_ERROR."""

    object: Literal["AccountResync"]
    status: str  # SYNC_STARTED | SYNC_RUNNING | SYNC_DONE | SYNC_ERROR

    @property
    def finished(self) -> bool:
        return self.status in ("SYNC_DONE", "SYNC_ERROR")


class AccountRestarted(UnipileModel):
    # The restart answer's shape is not documented (spec §4.3): any object is accepted.
    object: str | None = None
    account_id: str | None = None


class HostedAuthUrl(UnipileModel):
    object: Literal["HostedAuthUrl"]
    url: str


class HostedAuthNotification(UnipileModel):
    """What Unipile POSTs to a hosted-auth link's `notify_url` when the member is done (spec §4.3)."""

    status: str  # CREATION_SUCCESS | RECONNECTED
    account_id: str
    name: str | None = None


# --- users ------------------------------------------------------------------------------------------------


class UserProfile(UnipileModel):
    object: Literal["UserProfile"]
    provider: str
    provider_id: str
    public_identifier: str | None
    first_name: str | None
    last_name: str | None
    headline: str | None
    websites: list[str]
    summary: str | None = None
    location: str | None = None
    profile_picture_url: str | None = None
    public_profile_url: str | None = None
    member_urn: str | None = None
    is_open_profile: bool | None = None
    can_send_inmail: bool | None = None
    is_premium: bool | None = None
    is_relationship: bool | None = None
    is_self: bool | None = None
    invitation: dict[str, Any] | None = None
    network_distance: str | None = None  # FIRST_DEGREE | SECOND_DEGREE | THIRD_DEGREE | OUT_OF_NETWORK
    follower_count: LooseInt | None = None
    connections_count: LooseInt | None = None
    shared_connections_count: LooseInt | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def is_first_degree(self) -> bool:
        return bool(self.is_relationship) or self.network_distance == "FIRST_DEGREE"


class AccountOwnerProfile(UnipileModel):
    object: Literal["AccountOwnerProfile"]
    provider: str
    provider_id: str
    entity_urn: str | None = None
    object_urn: str | None = None
    first_name: str | None
    last_name: str | None
    profile_picture_url: str | None = None
    public_profile_url: str | None = None
    public_identifier: str | None = None
    headline: str | None = None
    location: str | None = None
    email: str | None = None
    premium: bool | None = None
    open_profile: bool | None = None
    occupation: str | None = None
    organizations: list[dict[str, Any]] | None = None
    recruiter: dict[str, Any] | None = None
    sales_navigator: dict[str, Any] | None = None


class UserRelation(UnipileModel):
    object: Literal["UserRelation"] = "UserRelation"
    first_name: str | None = None
    last_name: str | None = None
    headline: str | None = None
    public_identifier: str | None = None
    public_profile_url: str | None = None
    created_at: float | None = None  # epoch milliseconds
    member_id: str
    member_urn: str | None = None
    connection_urn: str | None = None
    profile_picture_url: str | None = None


# --- posts, comments, reactions ---------------------------------------------------------------------------


class PostAuthor(UnipileModel):
    id: str | None = None
    public_identifier: str | None = None
    name: str | None = None
    is_company: bool | None = None
    headline: str | None = None


class PostPermissions(UnipileModel):
    can_react: bool | None = None
    can_share: bool | None = None
    can_post_comments: bool | None = None


class Post(UnipileModel):
    object: Literal["Post"] = "Post"
    provider: str
    id: str
    social_id: str
    share_url: str
    title: str | None = None
    text: str
    date: str
    parsed_datetime: Timestamp
    reaction_counter: LooseInt
    comment_counter: LooseInt
    repost_counter: LooseInt
    impressions_counter: LooseInt
    user_reacted: str | None = None
    author: PostAuthor
    written_by: dict[str, Any] | None = None
    permissions: PostPermissions
    is_repost: bool
    repost_id: str | None = None
    mentions: list[dict[str, Any]] | None = None
    attachments: Attachments
    analytics: dict[str, Any] | None = None


class PostCreated(UnipileModel):
    object: Literal["PostCreated"]
    post_id: str | None = None  # older SDKs type the response without it


class CommentAuthorDetails(UnipileModel):
    id: str | None = None
    headline: str | None = None
    profile_url: str | None = None
    profile_picture_url: str | None = None
    network_distance: str | None = None


class Comment(UnipileModel):
    object: Literal["Comment"] = "Comment"
    id: str
    post_id: str | None = None
    post_urn: str | None = None
    thread_id: str | None = None
    author: str | None
    author_details: CommentAuthorDetails
    date: str | None
    text: str
    picture_url: str | None = None
    reaction_counter: LooseInt | None = None
    reply_counter: LooseInt | None = None
    impressions_counter: LooseInt | None = None
    user_reacted: str | None = None


class CommentSent(UnipileModel):
    object: Literal["CommentSent"]
    comment_id: str | None = None


class ReactionAdded(UnipileModel):
    object: Literal["ReactionAdded"]


class ReactionAuthor(UnipileModel):
    id: str | None = None
    type: str | None = None  # INDIVIDUAL | COMPANY
    name: str | None = None
    headline: str | None = None
    profile_url: str | None = None
    network_distance: str | None = None


class PostReaction(UnipileModel):  # one item of GET /posts/{social_id}/reactions
    value: str | None = None  # upper-case: LIKE, PRAISE, …
    author: ReactionAuthor


# --- invitations ------------------------------------------------------------------------------------------


class UserInvitationSent(UnipileModel):
    object: Literal["UserInvitationSent"]
    invitation_id: str | None = None
    usage: LooseInt | None = None  # % of LinkedIn's quota used; only present when crossing 50/75/90/95


class SentInvitation(UnipileModel):
    object: Literal["InvitationSent"] = "InvitationSent"
    id: str
    invited_user: str | None = None
    invited_user_id: str | None = None
    invited_user_public_id: str | None = None
    invited_user_description: str | None = None
    date: str | None = None
    parsed_datetime: Timestamp = None
    invitation_text: str | None = None


class InvitationCanceled(UnipileModel):
    object: Literal["InvitationCanceled"]


# --- messaging --------------------------------------------------------------------------------------------


class Chat(UnipileModel):
    object: Literal["Chat"] = "Chat"
    id: str
    account_id: str
    account_type: str
    provider_id: str
    name: str | None
    type: LooseInt  # 0 single | 1 group | 2 channel
    timestamp: Timestamp
    unread_count: LooseInt
    archived: Flag
    muted_until: LooseInt | str | None
    read_only: LooseInt  # 0 | 1 | 2
    attendee_provider_id: str | None = None
    subject: str | None = None
    content_type: str | None = None
    folder: list[str] | None = None
    pinned: Flag | None = None
    last_message: Message | None = Field(default=None, alias="lastMessage")


class MessageReaction(UnipileModel):
    value: str
    sender_id: str | None = None
    is_sender: Flag | None = None


class Message(UnipileModel):
    object: Literal["Message"] = "Message"
    id: str
    account_id: str
    chat_id: str
    provider_id: str | None = None
    chat_provider_id: str | None = None
    sender_id: str
    sender_attendee_id: str | None = None
    text: str | None
    attachments: Attachments
    timestamp: Timestamp = None  # None: Unipile sent no readable time (see Message.when)
    is_sender: Flag
    seen: Flag | None = None
    delivered: Flag | None = None
    hidden: Flag | None = None
    deleted: Flag | None = None
    edited: Flag | None = None
    is_event: Flag | None = None
    reactions: list[MessageReaction] | None = None
    quoted: dict[str, Any] | None = None
    subject: str | None = None
    message_type: str | None = None


class ChatAttendee(UnipileModel):
    """A person in an account's chats, with its own Unipile id per account (spec §7.3)."""

    object: Literal["ChatAttendee"] = "ChatAttendee"
    id: str
    account_id: str
    provider_id: str
    name: str | None = None
    is_self: Flag
    hidden: Flag | None = None
    picture_url: str | None = None
    profile_url: str | None = None
    specifics: dict[str, Any] | None = None


class ChatStarted(UnipileModel):
    object: Literal["ChatStarted"]
    chat_id: str | None
    message_id: str | None


class MessageSent(UnipileModel):
    object: Literal["MessageSent"]
    message_id: str | None


# --- webhooks (management) --------------------------------------------------------------------------------


class Webhook(UnipileModel):
    object: Literal["Webhook"] = "Webhook"
    id: str
    name: str | None = None
    request_url: str
    enabled: bool | None = None
    format: str | None = None
    account_ids: list[Any] | None = None
    headers: list[dict[str, Any]] | None = None
    events: list[str] | None = None
    source: str | None = None
    type: str | None = None


class WebhookCreated(UnipileModel):
    object: Literal["WebhookCreated"]
    webhook_id: str


class WebhookDeleted(UnipileModel):
    object: Literal["WebhookDeleted"]


# Every model a response can be, by its `object`. List envelopes map to their item model.
RESPONSE_MODELS: dict[str, type[UnipileModel]] = {
    "Account": Account,
    "AccountCreated": AccountCreated,
    "AccountReconnected": AccountReconnected,
    "Checkpoint": Checkpoint,
    "CheckpointResend": CheckpointResend,
    "AccountDeleted": AccountDeleted,
    "AccountResync": AccountResync,
    "AccountRestarted": AccountRestarted,
    "HostedAuthUrl": HostedAuthUrl,
    "ChatAttendee": ChatAttendee,
    "UserProfile": UserProfile,
    "AccountOwnerProfile": AccountOwnerProfile,
    "UserRelation": UserRelation,
    "Post": Post,
    "PostCreated": PostCreated,
    "Comment": Comment,
    "CommentSent": CommentSent,
    "ReactionAdded": ReactionAdded,
    "UserInvitationSent": UserInvitationSent,
    "InvitationSent": SentInvitation,
    "InvitationCanceled": InvitationCanceled,
    "Chat": Chat,
    "Message": Message,
    "ChatStarted": ChatStarted,
    "MessageSent": MessageSent,
    "Webhook": Webhook,
    "WebhookCreated": WebhookCreated,
    "WebhookDeleted": WebhookDeleted,
}
LIST_ITEM_MODELS: dict[str, type[UnipileModel]] = {
    "AccountList": Account,
    "UserRelationsList": UserRelation,
    "PostList": Post,
    "CommentList": Comment,
    "InvitationList": SentInvitation,
    "ChatList": Chat,
    "MessageList": Message,
    "WebhookList": Webhook,
    "ChatAttendeeList": ChatAttendee,
}

Chat.model_rebuild()
