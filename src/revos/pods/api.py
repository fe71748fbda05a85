"""/v1/pods: pods, members, posts to engage with, activities, comment approval, manual tasks. Thin.

Reading needs `campaigns.read`, changing a pod `campaigns.write`. A member may also act for themselves:
submit their own post, approve or reject their own comments, read their own task list."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.api.deps import Ctx, CtxDep
from revos.api.permissions import allowed, target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, Forbidden, NotFound
from revos.pods import comments, manual, repo, scheduling, schemas, service

router = APIRouter(prefix="/v1/pods", tags=["pods"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


async def _as_member_or_writer(ctx: Ctx, conn: Conn, pod: dict[str, Any], member_id: UUID) -> None:
    """Writers act for anyone; a member only for themselves."""
    if allowed(ctx.claims, "campaigns.write"):
        return
    ctx.require("campaigns.read")
    mine = await service.member_of_user(conn, pod["id"], ctx.user_in(pod["client_id"]))
    if mine is None or mine["id"] != member_id:
        raise Forbidden("only the member themselves, an admin or a manager may do this")


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_pod(ctx: CtxDep, body: schemas.PodCreate) -> schemas.Pod:
    ctx.require("campaigns.write")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        return service.view_pod(await service.create_pod(conn, client_id=client_id, body=body))


@router.get("")
async def list_pods(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    status_: Annotated[schemas.PodStatus | None, Query(alias="status")] = None,
) -> Page[schemas.Pod]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page_pods(conn, cursor=cursor, limit=limit, status=status_)
    return Page(items=[service.view_pod(r) for r in rows], next_cursor=next_cursor)


@router.get("/{pod_id}")
async def get_pod(ctx: CtxDep, pod_id: UUID) -> schemas.Pod:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return service.view_pod(await service.get_pod(conn, pod_id))


@router.patch("/{pod_id}")
async def update_pod(ctx: CtxDep, pod_id: UUID, body: schemas.PodUpdate) -> schemas.Pod:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view_pod(await service.update_pod(conn, pod_id, body))


@router.delete("/{pod_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_pod(ctx: CtxDep, pod_id: UUID) -> Response:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        await service.delete_pod(conn, pod_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- members --------------------------------------------------------------------------------------------


@router.post("/{pod_id}/members", status_code=status.HTTP_201_CREATED)
async def add_member(ctx: CtxDep, pod_id: UUID, body: schemas.MemberCreate) -> schemas.Member:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view_member(await service.add_member(conn, pod_id, body))


@router.get("/{pod_id}/members")
async def list_members(
    ctx: CtxDep,
    pod_id: UUID,
    status_: Annotated[schemas.MemberStatus | None, Query(alias="status")] = None,
) -> list[schemas.Member]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        await service.get_pod(conn, pod_id)
        return [service.view_member(r) for r in await repo.members(conn, pod_id, status=status_)]


@router.get("/{pod_id}/members/{member_id}")
async def get_member(ctx: CtxDep, pod_id: UUID, member_id: UUID) -> schemas.Member:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return service.view_member(await service.get_member(conn, pod_id, member_id))


@router.patch("/{pod_id}/members/{member_id}")
async def update_member(
    ctx: CtxDep, pod_id: UUID, member_id: UUID, body: schemas.MemberUpdate
) -> schemas.Member:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view_member(await service.update_member(conn, pod_id, member_id, body))


@router.delete("/{pod_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(ctx: CtxDep, pod_id: UUID, member_id: UUID) -> Response:
    """The member leaves (status `removed`; their history stays)."""
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        await service.update_member(conn, pod_id, member_id, schemas.MemberUpdate(status="removed"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- posts and activities -------------------------------------------------------------------------------


@router.post("/{pod_id}/posts", status_code=status.HTTP_201_CREATED)
async def submit_post(ctx: CtxDep, pod_id: UUID, body: schemas.PostSubmit) -> schemas.PodPost:
    """A member's post (by URL): the pod schedules its engagement now. The same URL twice is a 409."""
    social_id = scheduling.social_id_of(body.post_url)
    async with ctx.tx() as conn:
        pod = await service.get_pod(conn, pod_id)
        await _as_member_or_writer(ctx, conn, pod, body.member_id)
        author = await service.get_member(conn, pod_id, body.member_id)
        if pod["status"] != "active" or author["status"] != "active":
            raise Conflict("only an active member of an active pod can submit a post")
        ref = scheduling.PostRef(body.post_url, social_id, body.text, body.published_at or utcnow())
        done = await scheduling.schedule_post(ctx.runtime, conn, pod=pod, author=author, ref=ref)
        if done.pod_post is None:
            raise Conflict("the pod already engages with this post")
    return schemas.PodPost.model_validate(
        {**done.pod_post, "scheduled": done.pending, "skipped": done.skipped}
    )


@router.get("/{pod_id}/activities")
async def list_activities(
    ctx: CtxDep,
    pod_id: UUID,
    limit: Limit = 50,
    cursor: Cursor = None,
    status_: Annotated[schemas.ActivityStatus | None, Query(alias="status")] = None,
    member: UUID | None = None,
    post: Annotated[UUID | None, Query(description="a pod post id")] = None,
) -> Page[schemas.Activity]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        await service.get_pod(conn, pod_id)
        rows, next_cursor = await repo.page_activities(
            conn, pod_id, cursor=cursor, limit=limit, status=status_, member_id=member, pod_post_id=post
        )
    return Page(items=[service.view_activity(r) for r in rows], next_cursor=next_cursor)


async def _activity(ctx: Ctx, conn: Conn, pod_id: UUID, activity_id: UUID) -> dict[str, Any]:
    pod = await service.get_pod(conn, pod_id)
    row = await repo.get_activity(conn, activity_id, for_update=True)
    if row is None or row["pod_id"] != pod_id:
        raise NotFound("pod activity not found")
    await _as_member_or_writer(ctx, conn, pod, row["member_id"])
    return row


@router.post("/{pod_id}/activities/{activity_id}/approve")
async def approve(
    ctx: CtxDep, pod_id: UUID, activity_id: UUID, body: schemas.Approve | None = None
) -> schemas.Activity:
    async with ctx.tx() as conn:
        row = await _activity(ctx, conn, pod_id, activity_id)
        text = body.text if body else None
        done = await comments.approve(conn, row, text=text, user_id=ctx.user_in(row["client_id"]))
    return service.view_activity(done)


@router.post("/{pod_id}/activities/{activity_id}/reject")
async def reject(
    ctx: CtxDep, pod_id: UUID, activity_id: UUID, body: schemas.Reject | None = None
) -> schemas.Activity:
    async with ctx.tx() as conn:
        row = await _activity(ctx, conn, pod_id, activity_id)
        reason = body.reason if body else None
        done = await comments.reject(conn, row, reason=reason, user_id=ctx.user_in(row["client_id"]))
    return service.view_activity(done)


@router.get("/{pod_id}/tasks")
async def tasks(ctx: CtxDep, pod_id: UUID, member: UUID) -> list[schemas.Task]:
    """Manual mode: what `member` has to do on LinkedIn now (likes, comments with a suggested text)."""
    async with ctx.tx() as conn:
        pod = await service.get_pod(conn, pod_id)
        await _as_member_or_writer(ctx, conn, pod, member)
        await service.get_member(conn, pod_id, member)
        return await manual.tasks_for(conn, member, utcnow())
