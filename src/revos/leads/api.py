"""/v1/leads: leads, their sequence, messages and timeline, and the email review queue. Thin endpoints."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from revos.api.deps import Ctx, CtxDep
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.db.pool import Conn
from revos.leads import repo, schemas, service

router = APIRouter(prefix="/v1/leads", tags=["leads"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
ClientFilter = Annotated[UUID | None, Query(description="agency staff: one client only")]


@router.get("")
async def list_leads(
    ctx: CtxDep,
    campaign_id: UUID | None = None,
    status: schemas.LeadStatus | None = None,
    client_id: ClientFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.Lead]:
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=limit, campaign_id=campaign_id, status=status, client_id=client_id
        )
    return Page(items=[schemas.Lead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/review")
async def review_queue(
    ctx: CtxDep,
    campaign_id: UUID | None = None,
    client_id: ClientFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.Lead]:
    """Leads whose email was read with a confidence below their campaign's threshold."""
    ctx.require("leads.review")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=limit, campaign_id=campaign_id, client_id=client_id, review=True
        )
    return Page(items=[schemas.Lead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{lead_id}")
async def get_lead(ctx: CtxDep, lead_id: UUID) -> schemas.LeadDetail:
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        return schemas.LeadDetail.model_validate(await service.lead_detail(conn, lead_id))


@router.get("/{lead_id}/timeline")
async def get_timeline(ctx: CtxDep, lead_id: UUID) -> list[schemas.TimelineEvent]:
    """Every decision about the lead, oldest first: why they did (or did not yet) get each DM."""
    ctx.require("leads.read")
    async with ctx.tx() as conn:
        return [schemas.TimelineEvent.model_validate(e) for e in await service.lead_timeline(conn, lead_id)]


@router.post("/{lead_id}/review/approve")
async def approve_review(ctx: CtxDep, lead_id: UUID, body: schemas.ReviewApprove) -> schemas.LeadDetail:
    ctx.require("leads.review")
    async with ctx.tx() as conn:
        reviewer = await _reviewer(conn, ctx)
        detail = await service.approve_review(ctx.runtime, conn, lead_id, email=body.email, reviewer=reviewer)
    return schemas.LeadDetail.model_validate(detail)


@router.post("/{lead_id}/review/reject")
async def reject_review(ctx: CtxDep, lead_id: UUID, body: schemas.ReviewReject) -> schemas.LeadDetail:
    ctx.require("leads.review")
    async with ctx.tx() as conn:
        reviewer = await _reviewer(conn, ctx)
        detail = await service.reject_review(
            ctx.runtime, conn, lead_id, reason=body.reason, reviewer=reviewer
        )
    return schemas.LeadDetail.model_validate(detail)


async def _reviewer(conn: Conn, ctx: Ctx) -> UUID | None:
    """The user behind the token (None for API keys and agency tokens that name no user)."""
    try:
        user_id = UUID(ctx.claims.sub)
    except ValueError:
        return None
    return await service.existing_user(conn, user_id)
