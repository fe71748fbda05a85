"""/posts: publish and repost, read, comments (with replies and paging), reactions (spec §6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from revos.sim import serialize
from revos.sim.errors import SimError, invalid
from revos.sim.http import ListQuery, read_payload, require_query, respond, store_attachments
from revos.sim.models import Comment

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator

POST_TEXT_MAX = 3000
SORTS = ("MOST_RECENT", "MOST_RELEVANT")


def router(sim: Simulator) -> APIRouter:
    r = APIRouter()
    world = sim.world

    @r.post("/posts")
    async def create_post(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        account = world.account(payload.string("account_id", required=True))
        text = payload.string("text") or ""
        repost_of = payload.string("repost")
        if len(text) > POST_TEXT_MAX:
            raise SimError(400, "too_many_characters", f"Post text exceeds {POST_TEXT_MAX} characters")
        if repost_of:
            # A repost: `repost` names the post shared; the text, if any, is the reposter's commentary.
            original = world.find_post(repost_of)
            world.spend(account, "reposts")
            shared = world.repost(original, account.owner, text, account.id)
            return respond({"object": "PostCreated", "post_id": shared.id}, 201)
        if not text and not payload.files.get("attachments"):
            raise SimError(400, "missing_parameters", "Missing required parameter: text")
        world.spend(account, "posts")
        attachments = store_attachments(world, payload)
        post = world.create_post(account.owner, text, account.id, attachments)
        return respond({"object": "PostCreated", "post_id": post.id}, 201)

    @r.post("/posts/reaction")
    async def add_reaction(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        account = world.account(payload.string("account_id", required=True))
        post = world.find_post(payload.string("post_id", required=True) or "")
        comment_id = payload.string("comment_id")
        comment = world.find_comment(post, comment_id) if comment_id else None
        world.spend(account, "reactions")
        world.react(post, account.owner, payload.string("reaction_type") or "like", comment, account.id)
        return respond({"object": "ReactionAdded"}, 201)

    @r.get("/posts/{post_id}")
    async def get_post(post_id: str, request: Request) -> JSONResponse:
        account = world.account(require_query(request, "account_id"))
        post = world.find_post(post_id)
        if post.author is not account.owner:
            post.impressions_counter += 1  # a view by someone else is an impression
        return respond(serialize.post(world, post, account.owner))

    @r.get("/posts/{post_id}/comments")
    async def list_comments(post_id: str, request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=100)
        account = world.account(q.get("account_id") or require_query(request, "account_id"))
        post = world.find_post(post_id)
        sort_by = q.get("sort_by") or "MOST_RECENT"
        if sort_by not in SORTS:
            raise invalid(f"sort_by must be one of {', '.join(SORTS)}")
        parent_id = q.get("comment_id")
        items: list[Comment]
        if parent_id:
            # Replies read oldest first, as under a comment on LinkedIn.
            items = sorted(world.find_comment(post, parent_id).replies, key=lambda c: c.seq)
        elif sort_by == "MOST_RECENT":
            items = sorted(post.top_level, key=lambda c: -c.seq)
        else:
            items = sorted(post.top_level, key=lambda c: (-(len(c.reactions) + len(c.replies)), -c.seq))
        filters = {"account_id": account.id, "sort_by": sort_by, "comment_id": parent_id}
        page, cursor, start = q.page(items, filters)
        return respond(
            {
                "object": "CommentList",
                "items": [serialize.comment(world, c, account.owner) for c in page],
                "cursor": cursor,
                "total_items": len(items),
                "paging": {
                    "start": start,
                    "page_count": max(1, -(-len(items) // q.limit)),
                    "total_count": len(items),
                },
            }
        )

    @r.post("/posts/{post_id}/comments")
    async def send_comment(post_id: str, request: Request) -> JSONResponse:
        payload = await read_payload(request)
        account = world.account(payload.string("account_id", required=True))
        post = world.find_post(post_id)
        text = payload.string("text", required=True) or ""
        reply_id = payload.string("comment_id")
        parent = world.find_comment(post, reply_id) if reply_id else None
        world.spend(account, "comments")
        comment = world.add_comment(post, account.owner, text, parent, account_id=account.id)
        return respond({"object": "CommentSent", "comment_id": comment.id}, 201)

    @r.get("/posts/{post_id}/reactions")
    async def list_reactions(post_id: str, request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=100)
        account = world.account(q.get("account_id") or require_query(request, "account_id"))
        post = world.find_post(post_id)
        comment_id = q.get("comment_id")
        source = world.find_comment(post, comment_id).reactions if comment_id else post.reactions
        items = [_Reaction(n, pid, value) for n, (pid, value) in enumerate(source.items())]
        page, cursor, _ = q.page(items, {"account_id": account.id, "comment_id": comment_id})
        out: list[dict[str, Any]] = [
            serialize.reaction(world, world.members[x.provider_id], x.value, account.owner) for x in page
        ]
        return respond({"object": "ReactionList", "items": out, "cursor": cursor})

    return r


class _Reaction:
    def __init__(self, seq: int, provider_id: str, value: str) -> None:
        self.seq = seq
        self.provider_id = provider_id
        self.value = value
