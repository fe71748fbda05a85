"""/v1/posts: draft, schedule, publish now, read with comment coverage, list comments. Thin."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.api.deps import CtxDep
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.posts import repo, schemas, service, tasks

router = APIRouter(prefix="/v1/posts", tags=["posts"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_post(ctx: CtxDep, body: schemas.PostCreate) -> schemas.Post:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view(await service.create_post(conn, body))


@router.get("")
async def list_posts(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    campaign_id: UUID | None = None,
    status_: Annotated[schemas.Status | None, Query(alias="status")] = None,
) -> Page[schemas.Post]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=limit, campaign_id=campaign_id, status=status_
        )
    return Page(items=[service.view(r) for r in rows], next_cursor=next_cursor)


@router.get("/{post_id}")
async def get_post(ctx: CtxDep, post_id: UUID) -> schemas.Post:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return service.view(await service.get_post(conn, post_id))


@router.patch("/{post_id}")
async def update_post(ctx: CtxDep, post_id: UUID, body: schemas.PostUpdate) -> schemas.Post:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view(await service.update_post(conn, post_id, body))


@router.delete("/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(ctx: CtxDep, post_id: UUID) -> Response:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        await service.delete_post(conn, post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{post_id}/schedule")
async def schedule(ctx: CtxDep, post_id: UUID, body: schemas.PostSchedule) -> schemas.Post:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view(await service.schedule(conn, post_id, body.scheduled_for))


@router.post("/{post_id}/unschedule", summary="back to draft")
async def unschedule(ctx: CtxDep, post_id: UUID) -> schemas.Post:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view(await service.unschedule(conn, post_id))


@router.post("/{post_id}/publish-now", status_code=status.HTTP_202_ACCEPTED)
async def publish_now(ctx: CtxDep, post_id: UUID) -> schemas.Post:
    """Publish as soon as the account's safety budget allows; the post shows `published` once LinkedIn
    confirmed it (or `failed` with the reason)."""
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        row = await service.publish_now(conn, post_id)
        await tasks.defer_publish(conn, post_id, row["linkedin_account_id"])
    return service.view(row)


@router.post("/{post_id}/poll-now", status_code=status.HTTP_202_ACCEPTED)
async def poll_now(
    ctx: CtxDep, post_id: UUID, full: Annotated[bool, Query(description="rescan every comment")] = False
) -> schemas.Post:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        row = await service.request_poll(conn, post_id, full=full)
        await tasks.defer_poll(conn, post_id, full=full)
    return service.view(row)


@router.get("/{post_id}/comments")
async def list_comments(
    ctx: CtxDep,
    post_id: UUID,
    limit: Limit = 50,
    cursor: Cursor = None,
    trigger_only: Annotated[bool, Query(description="only comments that matched a trigger word")] = False,
) -> Page[schemas.Comment]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        await service.get_post(conn, post_id)
        rows, next_cursor = await repo.comments_page(
            conn, post_id, cursor=cursor, limit=limit, trigger_only=trigger_only
        )
    return Page(
        items=[schemas.Comment.model_validate({**r, "dm_sent": bool(r["dm_sent"])}) for r in rows],
        next_cursor=next_cursor,
    )
