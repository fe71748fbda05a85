"""/chats and /messages: start chats, send, read, list (spec §7)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from revos.sim import serialize
from revos.sim.errors import SimError, invalid, missing
from revos.sim.http import ListQuery, Payload, read_payload, respond, store_attachments
from revos.sim.ids import parse_iso_filter
from revos.sim.models import Account, Member, Message

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator

MESSAGE_MAX = 8000
APIS = ("classic", "recruiter", "sales_navigator")


def router(sim: Simulator) -> APIRouter:
    r = APIRouter()
    world = sim.world

    def accounts_filter(q: ListQuery) -> list[Account] | None:
        raw = q.get("account_id")
        return [world.account(a) for a in raw.split(",") if a] if raw else None

    def time_window(q: ListQuery) -> tuple[datetime | None, datetime | None]:
        return parse_iso_filter(q.get("before"), "before"), parse_iso_filter(q.get("after"), "after")

    def check_text(payload: Payload) -> str | None:
        text = payload.string("text")
        if text is not None and len(text) > MESSAGE_MAX:
            raise SimError(400, "too_many_characters", f"Message text exceeds {MESSAGE_MAX} characters")
        if text is None and not payload.files.get("attachments"):
            raise missing("text")
        return text

    @r.post("/chats")
    async def start_chat(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        account = world.account(payload.string("account_id", required=True))
        ids = [str(x) for x in payload.list("attendees_ids")]
        if not ids:
            raise missing("attendees_ids")
        api = payload.string("linkedin[api]") or "classic"
        if api not in APIS:
            raise invalid(f"linkedin[api] must be one of {', '.join(APIS)}")
        inmail = payload.flag("linkedin[inmail]")
        text = check_text(payload)
        members: list[Member] = []
        for pid in ids:
            try:
                members.append(world.find_member(pid))
            except SimError as exc:
                raise SimError(422, "invalid_recipient", f"Unknown recipient {pid}") from exc
        for member in members:
            if world.is_connected(account.owner, member):
                continue
            if not inmail:
                raise SimError(
                    422,
                    "no_connection_with_recipient",
                    "The recipient appears not to be first degree connection",
                )
            if not (account.login.premium or member.is_open_profile):
                raise SimError(422, "not_allowed_inmail", "This account cannot send InMails")
        world.spend(account, "messages")
        attachments = store_attachments(world, payload)
        chat = world.chat_with(account, members, inmail)
        if payload.string("subject") and chat.subject is None:
            chat.subject = payload.string("subject")
        msg = world.post_message(chat, account.owner, text, attachments)
        return respond({"object": "ChatStarted", "chat_id": chat.id, "message_id": msg.id}, 201)

    @r.post("/chats/{chat_id}/messages")
    async def send_message(chat_id: str, request: Request) -> JSONResponse:
        chat = world.find_chat(chat_id)
        payload = await read_payload(request)
        guard = payload.string("account_id")
        if guard and guard != chat.account_id:
            raise SimError(404, "resource_not_found", "Account, chat or thread not found")
        account = world.account(chat.account_id)
        text = check_text(payload)
        world.spend(account, "messages")
        attachments = store_attachments(world, payload)
        msg = world.post_message(chat, account.owner, text, attachments)
        return respond({"object": "MessageSent", "message_id": msg.id}, 201)

    @r.get("/chats")
    async def list_chats(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        accounts = accounts_filter(q)
        before, after = time_window(q)
        unread = (q.get("unread") or "").lower() == "true"
        with world.lock:
            scope = (
                list(world.chats.values())
                if accounts is None
                else world.index.chats_of([a.id for a in accounts])
            )
        chats = [
            c
            for c in scope
            if (before is None or c.updated_at < before)
            and (after is None or c.updated_at > after)
            and (not unread or c.unread_count > 0)
        ]
        chats.sort(key=lambda c: (c.updated_at, c.seq), reverse=True)
        filters = {k: q.get(k) for k in ("account_id", "before", "after", "unread")}
        page, cursor, _ = q.page(chats, filters)
        return respond(
            {"object": "ChatList", "items": [serialize.chat(world, c) for c in page], "cursor": cursor}
        )

    @r.get("/chats/{chat_id}")
    async def get_chat(chat_id: str) -> JSONResponse:
        chat = world.find_chat(chat_id)
        world.account(chat.account_id)
        return respond(serialize.chat(world, chat, with_last=True))

    @r.patch("/chats/{chat_id}")
    async def patch_chat(chat_id: str, request: Request) -> JSONResponse:
        chat = world.find_chat(chat_id)
        world.account(chat.account_id)
        payload = await read_payload(request)
        if payload.string("action") != "setReadStatus":
            raise SimError(400, "invalid_action", "Only setReadStatus is simulated")
        with world.lock:
            read = payload.get("value") in (True, "true")
            chat.read_until = chat.messages[-1].seq if read and chat.messages else 0
            for m in chat.messages:
                if not m.is_sender:
                    m.seen = read
        return respond({"object": "ChatPatched"})

    @r.get("/chats/{chat_id}/attendees")
    async def chat_attendees(chat_id: str) -> JSONResponse:
        chat = world.find_chat(chat_id)
        world.account(chat.account_id)
        items = [serialize.attendee(chat.account_id, m, m is chat.owner) for m in chat.participants]
        return respond({"object": "ChatAttendeeList", "items": items, "cursor": None})

    def message_list(q: ListQuery, messages: list[Message], filters: dict[str, str | None]) -> JSONResponse:
        before, after = time_window(q)
        sender = q.get("sender_id")
        kept = [
            m
            for m in messages
            if (before is None or m.created_at < before)
            and (after is None or m.created_at > after)
            and (sender is None or m.sender.provider_id == sender)
        ]
        kept.sort(key=lambda m: m.seq, reverse=True)  # most recent first
        filters = {**filters, **{k: q.get(k) for k in ("before", "after", "sender_id")}}
        page, cursor, _ = q.page(kept, filters)
        return respond(
            {"object": "MessageList", "items": [serialize.message(world, m) for m in page], "cursor": cursor}
        )

    @r.get("/chats/{chat_id}/messages")
    async def chat_messages(chat_id: str, request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        chat = world.find_chat(chat_id)
        world.account(chat.account_id)
        return message_list(q, list(chat.messages), {})

    @r.get("/messages")
    async def all_messages(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        accounts = accounts_filter(q)
        with world.lock:
            if accounts is None:
                messages = list(world.messages.values())
            else:
                messages = world.index.messages_of([a.id for a in accounts])
        return message_list(q, messages, {"account_id": q.get("account_id")})

    @r.get("/messages/{message_id}")
    async def get_message(message_id: str) -> JSONResponse:
        msg = world.messages.get(message_id)
        if msg is None:
            raise SimError(404, "resource_not_found", "Message not found")
        world.account(msg.account_id)
        return respond(serialize.message(world, msg))

    @r.get("/messages/{message_id}/attachments/{attachment_id}")
    async def download_attachment(message_id: str, attachment_id: str) -> Response:
        msg = world.messages.get(message_id)
        if msg is None:
            raise SimError(404, "resource_not_found", "Message not found")
        world.account(msg.account_id)
        upload = world.files.get(attachment_id)
        if upload is None or not any(a.get("id") == attachment_id for a in msg.attachments):
            raise SimError(404, "resource_not_found", "Attachment not found")
        return Response(upload.data, media_type=upload.content_type or "application/octet-stream")

    # ---- attendees: the people of an account's chats, each with one Unipile id per account ----------------
    def attendees_of(accounts: list[Account] | None) -> list[tuple[str, Member, bool]]:
        """(account id, member, is self) for everyone in the accounts' chats, in order of appearance."""
        with world.lock:
            if accounts is None:
                found = list(world.index.attendees.values())
            else:
                found = world.index.attendees_of([a.id for a in accounts])
        return [(x.account_id, x.member, x.is_self) for x in found]

    def find_attendee(attendee_id: str) -> tuple[str, Member, bool]:
        found = world.index.attendees.get(attendee_id)
        if found is None:
            raise SimError(404, "resource_not_found", "Attendee not found")
        world.account(found.account_id)
        return found.account_id, found.member, found.is_self

    @r.get("/chat_attendees")
    async def list_attendees(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        found = [_Seq(n, x) for n, x in enumerate(attendees_of(accounts_filter(q)))]
        page, cursor, _ = q.page(found, {"account_id": q.get("account_id")})
        items = [serialize.attendee(a, m, is_self) for a, m, is_self in (x.item for x in page)]
        return respond({"object": "ChatAttendeeList", "items": items, "cursor": cursor})

    @r.get("/chat_attendees/{attendee_id}")
    async def get_attendee(attendee_id: str) -> JSONResponse:
        account_id, member, is_self = find_attendee(attendee_id)
        return respond(serialize.attendee(account_id, member, is_self))

    @r.get("/chat_attendees/{attendee_id}/chats")
    async def attendee_chats(attendee_id: str, request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        account_id, member, _ = find_attendee(attendee_id)
        with world.lock:
            chats = list(world.index.chats_by_participant.get((account_id, member.provider_id), ()))
        chats.sort(key=lambda c: (c.updated_at, c.seq), reverse=True)
        page, cursor, _ = q.page(chats, {})
        return respond(
            {"object": "ChatList", "items": [serialize.chat(world, c) for c in page], "cursor": cursor}
        )

    @r.get("/chat_attendees/{attendee_id}/messages")
    async def attendee_messages(attendee_id: str, request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        account_id, member, _ = find_attendee(attendee_id)
        with world.lock:
            messages = list(world.index.messages_by_sender.get((account_id, member.provider_id), ()))
        return message_list(q, messages, {})

    return r


class _Seq:
    def __init__(self, seq: int, item: tuple[str, Member, bool]) -> None:
        self.seq = seq
        self.item = item
