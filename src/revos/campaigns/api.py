"""/v1/campaigns: CRUD and the lifecycle. Thin: parse, authorize, call the service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.api.deps import CtxDep
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.campaigns import repo, schemas, service
from revos.clock import utcnow

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_campaign(ctx: CtxDep, body: schemas.CampaignCreate) -> schemas.Campaign:
    ctx.require("campaigns.write")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        row = await service.create_campaign(
            conn, client_id=client_id, body=body, settings=ctx.runtime.settings
        )
    return service.view(row)


@router.get("")
async def list_campaigns(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    status_: Annotated[schemas.Status | None, Query(alias="status")] = None,
    client_id: Annotated[UUID | None, Query(description="agency staff: one client only")] = None,
) -> Page[schemas.Campaign]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=limit, status=status_, client_id=client_id
        )
    now = utcnow()
    return Page(items=[service.view(r, now) for r in rows], next_cursor=next_cursor)


@router.get("/{campaign_id}")
async def get_campaign(ctx: CtxDep, campaign_id: UUID) -> schemas.Campaign:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return service.view(await service.get_campaign(conn, campaign_id))


@router.patch("/{campaign_id}")
async def update_campaign(ctx: CtxDep, campaign_id: UUID, body: schemas.CampaignUpdate) -> schemas.Campaign:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        row = await service.update_campaign(conn, campaign_id, body, settings=ctx.runtime.settings)
    return service.view(row)


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_campaign(ctx: CtxDep, campaign_id: UUID) -> Response:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        await service.delete_campaign(conn, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _move(ctx: CtxDep, campaign_id: UUID, target: str) -> schemas.Campaign:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        row = await service.transition(conn, campaign_id, target)
    return service.view(row)


@router.post("/{campaign_id}/activate", summary="draft or paused → active")
async def activate(ctx: CtxDep, campaign_id: UUID) -> schemas.Campaign:
    return await _move(ctx, campaign_id, "active")


@router.post("/{campaign_id}/resume", summary="paused → active (same as activate)")
async def resume(ctx: CtxDep, campaign_id: UUID) -> schemas.Campaign:
    return await _move(ctx, campaign_id, "active")


@router.post("/{campaign_id}/pause", summary="active → paused")
async def pause(ctx: CtxDep, campaign_id: UUID) -> schemas.Campaign:
    return await _move(ctx, campaign_id, "paused")


@router.post("/{campaign_id}/complete", summary="active or paused → completed (final)")
async def complete(ctx: CtxDep, campaign_id: UUID) -> schemas.Campaign:
    return await _move(ctx, campaign_id, "completed")
