"""Chats, messages, and webhook management."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from revos.linkedin._http import DownloadedFile, HttpCore, build_request, page_params, seg
from revos.linkedin.models import (
    Chat,
    ChatAttendee,
    ChatStarted,
    ListPage,
    Message,
    MessageSent,
    UnipileModel,
    Webhook,
    WebhookCreated,
    WebhookDeleted,
)
from revos.linkedin.pagination import iterate_items
from revos.linkedin.requests import (
    CreateWebhookRequest,
    FileTuple,
    SendMessageRequest,
    StartChatRequest,
    WebhookHeader,
)

# The custom header revOS adds to its Unipile webhooks; Unipile v1 signs nothing, so this shared secret is
# the only proof that a delivery comes from our subscription (see webhooks.verify_webhook_secret).
WEBHOOK_SECRET_HEADER = "X-Revos-Webhook-Secret"


class _AttendeesOfChat(UnipileModel):
    # A chat's attendees come without a cursor in the SDK's schema (all of them at once).
    object: Literal["ChatAttendeeList"]
    items: list[ChatAttendee]


WebhookSource = Literal["messaging", "account_status", "users", "email", "email_tracking"]


class MessagingAPI(HttpCore):
    # --- sending -------------------------------------------------------------------------------------------

    async def start_chat(
        self,
        account_id: str,
        attendees_ids: Sequence[str] | str,
        text: str,
        *,
        attachments: Sequence[FileTuple] = (),
        subject: str | None = None,
        linkedin_api: Literal["classic", "recruiter", "sales_navigator"] | None = None,
        inmail: bool = False,
    ) -> ChatStarted:
        """First DM to one or more members (multipart; `attendees_ids` repeated, options as `linkedin[...]`).

        Reuses the existing 1:1 chat if there is one, but always sends `text` again: never call this twice
        for the same message without reconciling first.
        """
        ids = [attendees_ids] if isinstance(attendees_ids, str) else list(attendees_ids)
        form = build_request(
            StartChatRequest,
            account_id=account_id,
            attendees_ids=ids,
            text=text,
            subject=subject,
            linkedin_api=linkedin_api or ("classic" if inmail else None),
            linkedin_inmail=True if inmail else None,
        )
        result: ChatStarted = await self._send("POST", "/chats", ChatStarted, files=form.parts(attachments))
        return result

    async def send_message(
        self,
        chat_id: str,
        text: str,
        *,
        account_id: str | None = None,
        attachments: Sequence[FileTuple] = (),
        quote_id: str | None = None,
    ) -> MessageSent:
        """Send in an existing chat. With `account_id`, Unipile refuses a chat of another account."""
        form = build_request(SendMessageRequest, text=text, account_id=account_id, quote_id=quote_id)
        result: MessageSent = await self._send(
            "POST", f"/chats/{seg(chat_id)}/messages", MessageSent, files=form.parts(attachments)
        )
        return result

    # --- reading -------------------------------------------------------------------------------------------

    async def list_chats(
        self,
        *,
        account_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        unread: bool | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        account_type: str | None = None,
    ) -> tuple[list[Chat], str | None]:
        params = {
            "account_id": account_id,
            "unread": unread,
            "before": before,
            "after": after,
            "account_type": account_type,
            **page_params(limit, cursor, max_limit=250),
        }
        page: ListPage[Chat] = await self._get("/chats", ListPage[Chat], params)
        return page.items, page.cursor

    def iter_chats(
        self, *, account_id: str | None = None, limit: int = 100, **filters: Any
    ) -> AsyncIterator[Chat]:
        return iterate_items(
            lambda cursor: self.list_chats(account_id=account_id, limit=limit, cursor=cursor, **filters)
        )

    async def get_chat(self, chat_id: str) -> Chat:
        result: Chat = await self._get(f"/chats/{seg(chat_id)}", Chat)
        return result

    async def list_chat_messages(
        self,
        chat_id: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        sender_id: str | None = None,
    ) -> tuple[list[Message], str | None]:
        params = {
            "before": before,
            "after": after,
            "sender_id": sender_id,
            **page_params(limit, cursor, max_limit=250),
        }
        page: ListPage[Message] = await self._get(
            f"/chats/{seg(chat_id)}/messages", ListPage[Message], params
        )
        return page.items, page.cursor

    def iter_chat_messages(self, chat_id: str, *, limit: int = 100, **filters: Any) -> AsyncIterator[Message]:
        return iterate_items(
            lambda cursor: self.list_chat_messages(chat_id, limit=limit, cursor=cursor, **filters)
        )

    async def list_messages(
        self,
        *,
        account_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
        sender_id: str | None = None,
    ) -> tuple[list[Message], str | None]:
        """Messages across all chats: the polling fallback when webhooks are late or lost."""
        params = {
            "account_id": account_id,
            "before": before,
            "after": after,
            "sender_id": sender_id,
            **page_params(limit, cursor, max_limit=250),
        }
        page: ListPage[Message] = await self._get("/messages", ListPage[Message], params)
        return page.items, page.cursor

    def iter_messages(
        self, *, account_id: str | None = None, limit: int = 100, **filters: Any
    ) -> AsyncIterator[Message]:
        return iterate_items(
            lambda cursor: self.list_messages(account_id=account_id, limit=limit, cursor=cursor, **filters)
        )

    async def get_message(self, message_id: str) -> Message:
        result: Message = await self._get(f"/messages/{seg(message_id)}", Message)
        return result

    async def download_attachment(self, message_id: str, attachment_id: str) -> DownloadedFile:
        """The file behind a message attachment (`Attachment.id`), as bytes with its content type."""
        return await self._get_file(f"/messages/{seg(message_id)}/attachments/{seg(attachment_id)}")

    # --- attendees -----------------------------------------------------------------------------------------

    async def list_chat_attendees(self, chat_id: str) -> list[ChatAttendee]:
        """Everyone in a chat, the account's owner included (`is_self`)."""
        page: _AttendeesOfChat = await self._get(f"/chats/{seg(chat_id)}/attendees", _AttendeesOfChat)
        return page.items

    async def list_attendees(
        self, *, account_id: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[ChatAttendee], str | None]:
        params = {"account_id": account_id, **page_params(limit, cursor, max_limit=250)}
        page: ListPage[ChatAttendee] = await self._get("/chat_attendees", ListPage[ChatAttendee], params)
        return page.items, page.cursor

    def iter_attendees(
        self, *, account_id: str | None = None, limit: int = 100
    ) -> AsyncIterator[ChatAttendee]:
        return iterate_items(
            lambda cursor: self.list_attendees(account_id=account_id, limit=limit, cursor=cursor)
        )

    async def get_attendee(self, attendee_id: str) -> ChatAttendee:
        result: ChatAttendee = await self._get(f"/chat_attendees/{seg(attendee_id)}", ChatAttendee)
        return result

    # --- webhook management --------------------------------------------------------------------------------

    async def create_webhook(
        self,
        source: WebhookSource,
        request_url: str,
        *,
        name: str | None = None,
        headers: Mapping[str, str] | None = None,
        secret: str | None = None,
        events: list[str] | None = None,
        account_ids: list[str] | None = None,
        enabled: bool | None = None,
    ) -> WebhookCreated:
        """Subscribe `request_url` to `source` events.

        `Content-Type: application/json` is always added: webhooks created through the API otherwise arrive
        without it (spec §9.1). `secret` is sent as the `X-Revos-Webhook-Secret` header on every delivery.
        """
        merged = dict(headers or {})
        if secret is not None:
            merged[WEBHOOK_SECRET_HEADER] = secret
        if not any(k.lower() == "content-type" for k in merged):
            merged["Content-Type"] = "application/json"
        body = build_request(
            CreateWebhookRequest,
            source=source,
            request_url=request_url,
            name=name,
            events=events,
            account_ids=account_ids,
            enabled=enabled,
            headers=[WebhookHeader(key=k, value=v) for k, v in merged.items()],
        ).body()
        result: WebhookCreated = await self._send("POST", "/webhooks", WebhookCreated, json=body)
        return result

    async def list_webhooks(
        self, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Webhook], str | None]:
        page: ListPage[Webhook] = await self._get(
            "/webhooks", ListPage[Webhook], page_params(limit, cursor, max_limit=250)
        )
        return page.items, page.cursor

    def iter_webhooks(self, *, limit: int = 100) -> AsyncIterator[Webhook]:
        return iterate_items(lambda cursor: self.list_webhooks(limit=limit, cursor=cursor))

    async def delete_webhook(self, webhook_id: str) -> WebhookDeleted:
        result: WebhookDeleted = await self._send("DELETE", f"/webhooks/{seg(webhook_id)}", WebhookDeleted)
        return result
