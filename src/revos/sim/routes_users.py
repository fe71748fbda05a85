"""/users: profiles, own profile, relations, a member's posts, invitations (spec §5, §6.4, §8)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from revos.sim import serialize
from revos.sim.errors import SimError, not_found
from revos.sim.http import ListQuery, read_payload, require_query, respond
from revos.sim.models import Member

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator


def router(sim: Simulator) -> APIRouter:
    r = APIRouter()
    world = sim.world

    @r.get("/users/me")
    async def me(request: Request) -> JSONResponse:
        account = world.account(require_query(request, "account_id"))
        return respond(serialize.owner_profile(account))

    @r.get("/users/relations")
    async def relations(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=1000)
        account = world.account(q.get("account_id") or require_query(request, "account_id"))
        name = (q.get("filter") or "").lower()
        rels = [
            _Rel(int(since.timestamp() * 1_000_000), m, since)
            for m, since in world.relations_of(account.owner)
            if name in m.name.lower()
        ]
        rels.sort(key=lambda x: (x.since, x.member.provider_id), reverse=True)
        for n, rel in enumerate(rels):
            rel.seq = -n  # newest first; position-stable cursor anchor
        page, cursor, _ = q.page(rels, {"account_id": account.id, "filter": name or None})
        return respond(
            {
                "object": "UserRelationsList",
                "items": [serialize.relation(x.member, x.since) for x in page],
                "cursor": cursor,
            }
        )

    @r.post("/users/invite")
    async def invite(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        account = world.account(payload.string("account_id", required=True))
        member = world.find_member(payload.string("provider_id", required=True) or "")
        inv, usage = world.invite(account, member, payload.string("message"))
        # The reference documents 200 here (spec §8), unlike the 201 of chats, messages and comments.
        return respond({"object": "UserInvitationSent", "invitation_id": inv.id, "usage": usage}, 200)

    @r.get("/users/invite/sent")
    async def sent_invitations(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=100, default_limit=10)
        account = world.account(q.get("account_id") or require_query(request, "account_id"))
        with world.lock:
            sent = list(world.index.invitations_by_account.get(account.id, ()))
        pending = [i for i in sent if i.status in ("PENDING", "IGNORED")]
        pending.sort(key=lambda i: i.seq, reverse=True)
        page, cursor, _ = q.page(pending, {"account_id": account.id})
        return respond(
            {"object": "InvitationList", "items": [serialize.invitation(i) for i in page], "cursor": cursor}
        )

    @r.delete("/users/invite/sent/{invitation_id}")
    async def cancel_invitation(invitation_id: str, request: Request) -> JSONResponse:
        account = world.account(require_query(request, "account_id"))
        inv = world.invitations.get(invitation_id)
        if inv is None or inv.account_id != account.id:
            raise not_found("Invitation")
        if inv.status not in ("PENDING", "IGNORED"):
            raise SimError(422, "invalid_action", "The invitation is no longer pending")
        with world.lock:
            inv.status, inv.decided_at = "WITHDRAWN", world.now()
        return respond({"object": "InvitationCanceled"})

    @r.get("/users/{identifier}/posts")
    async def user_posts(identifier: str, request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=100)
        account = world.account(q.get("account_id") or require_query(request, "account_id"))
        member = world.find_member(identifier)
        with world.lock:
            posts = sorted(world.index.posts_by_author.get(member.provider_id, ()), key=lambda p: -p.seq)
        page, cursor, _ = q.page(posts, {"account_id": account.id})
        pages = max(1, -(-len(posts) // q.limit))
        return respond(
            {
                "object": "PostList",
                "items": [serialize.post(world, p, account.owner) for p in page],
                "cursor": cursor,
                "paging": {"page_count": pages},
            }
        )

    @r.get("/users/{identifier}")
    async def profile(identifier: str, request: Request) -> JSONResponse:
        account = world.account(require_query(request, "account_id"))
        member = world.find_member(identifier)
        if member is not account.owner:
            world.spend(account, "profile_views")  # every lookup is a profile visit (spec §5.1)
        return respond(serialize.profile(world, account.owner, member))

    return r


class _Rel:
    def __init__(self, seq: int, member: Member, since: datetime) -> None:
        self.seq = seq
        self.member = member
        self.since = since
