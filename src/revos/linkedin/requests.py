"""Request bodies, validated before anything leaves the process.

Client-side validation matters most for sends: a body LinkedIn would reject (a 301-character invitation
note) must fail here, with a typed error, rather than cost a round trip and an action budget slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# (filename, content, mimetype) — what callers hand us for multipart uploads.
FileTuple = tuple[str, bytes, str]

INVITATION_NOTE_MAX = 300
COMMENT_MAX = 1250


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class Proxy(RequestModel):
    protocol: Literal["https", "http", "socks5"] | None = None
    host: str
    port: int
    username: str | None = None
    password: str | None = None


class ConnectAccountRequest(RequestModel):
    """Username/password or cookie (`access_token` = li_at) login; used for connect and reconnect."""

    provider: Literal["LINKEDIN"] = "LINKEDIN"
    username: str | None = Field(default=None, min_length=1)
    password: str | None = Field(default=None, min_length=1)
    access_token: str | None = Field(default=None, min_length=1)
    premium_token: str | None = None
    user_agent: str | None = None
    proxy: Proxy | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)

    @model_validator(mode="after")
    def _one_credential_kind(self) -> ConnectAccountRequest:
        has_password = self.username is not None and self.password is not None
        has_cookie = self.access_token is not None
        if has_password == has_cookie:
            raise ValueError("give either username+password or access_token (cookie), not both or neither")
        return self

    def __repr_args__(self) -> Any:
        # Keep passwords and cookies out of reprs, and therefore out of logs and tracebacks.
        for key, value in super().__repr_args__():
            secret = key in {"password", "access_token", "premium_token"} and value is not None
            yield key, ("***" if secret else value)


class SolveCheckpointRequest(RequestModel):
    provider: Literal["LINKEDIN"] = "LINKEDIN"
    account_id: str = Field(min_length=1)
    code: str = Field(min_length=1)

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            yield key, ("***" if key == "code" else value)


class ResendCheckpointRequest(RequestModel):
    provider: Literal["LINKEDIN"] = "LINKEDIN"
    account_id: str = Field(min_length=1)


class HostedAuthLinkRequest(RequestModel):
    """`POST /hosted/accounts/link` (spec §4.3): a link where the member connects on Unipile's own page."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["create", "reconnect"]
    providers: list[Literal["LINKEDIN"]] | None = None  # create only: revOS connects LinkedIn accounts
    reconnect_account: str | None = Field(default=None, min_length=1)  # reconnect only
    api_url: str = Field(pattern=r"^https?://")
    expires_on: str = Field(
        serialization_alias="expiresOn", pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
    )
    name: str | None = Field(default=None, min_length=1)
    notify_url: str | None = Field(default=None, pattern=r"^https?://")
    success_redirect_url: str | None = Field(default=None, pattern=r"^https?://")
    failure_redirect_url: str | None = Field(default=None, pattern=r"^https?://")

    @model_validator(mode="after")
    def _kind_fields(self) -> HostedAuthLinkRequest:
        if self.type == "create" and not self.providers:
            raise ValueError("a create link names its providers")
        if self.type == "reconnect" and not self.reconnect_account:
            raise ValueError("a reconnect link names the account to reconnect")
        return self


class InviteRequest(RequestModel):
    provider_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    message: str | None = Field(default=None, max_length=INVITATION_NOTE_MAX)
    user_email: str | None = None


class Mention(RequestModel):
    name: str
    profile_id: str
    is_company: bool | None = None


class CommentRequest(RequestModel):
    account_id: str = Field(min_length=1)
    text: str = Field(min_length=1, max_length=COMMENT_MAX)
    comment_id: str | None = None
    mentions: list[Mention] | None = None
    external_link: str | None = None
    as_organization: str | None = None


ReactionType = Literal["like", "celebrate", "support", "love", "insightful", "funny"]


class ReactionRequest(RequestModel):
    account_id: str = Field(min_length=1)
    post_id: str = Field(min_length=1)
    reaction_type: ReactionType = "like"
    comment_id: str | None = None
    as_organization: str | None = None


class WebhookHeader(RequestModel):
    key: str
    value: str


class CreateWebhookRequest(RequestModel):
    source: Literal["messaging", "account_status", "users", "email", "email_tracking"]
    request_url: str = Field(min_length=1)
    name: str | None = None
    events: list[str] | None = None
    account_ids: list[str] | None = None
    enabled: bool | None = None
    format: Literal["json", "form"] | None = None
    headers: list[WebhookHeader] | None = None


class MultipartRequest(RequestModel):
    """Bodies Unipile documents as multipart/form-data.

    Every field becomes a part (even without files), because the API documents multipart for these routes
    and a urlencoded body is not guaranteed to be accepted.
    """

    def parts(self, attachments: Sequence[FileTuple] = ()) -> list[tuple[str, tuple[str | None, Any]]]:
        out: list[tuple[str, tuple[str | None, Any]]] = []
        for key, value in self.body().items():
            values = value if isinstance(value, list) else [value]
            for item in values:
                out.append((key, (None, _form_value(item))))
        for filename, content, mimetype in attachments:
            out.append(("attachments", (filename, content, mimetype)))  # type: ignore[arg-type]
        return out


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class StartChatRequest(MultipartRequest):
    account_id: str = Field(min_length=1)
    attendees_ids: list[str] = Field(min_length=1)
    text: str | None = None
    subject: str | None = None
    linkedin_api: Literal["classic", "recruiter", "sales_navigator"] | None = Field(
        default=None, serialization_alias="linkedin[api]"
    )
    linkedin_inmail: bool | None = Field(default=None, serialization_alias="linkedin[inmail]")


class SendMessageRequest(MultipartRequest):
    text: str | None = None
    account_id: str | None = None
    quote_id: str | None = None


class CreatePostRequest(MultipartRequest):
    account_id: str = Field(min_length=1)
    text: str
    external_link: str | None = None
    as_organization: str | None = None
    repost: str | None = None
