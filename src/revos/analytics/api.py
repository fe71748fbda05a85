"""/v1/analytics: the funnel, posts, DM templates, account budgets and pod participation by day, week
or month, read from views refreshed every REVOS_CRON_ANALYTICS_REFRESH (figures lag by up to that).
Thin; every report needs `campaigns.read` and shows only the caller's clients."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from revos.analytics import schemas, service
from revos.api.deps import CtxDep
from revos.api.openapi import error_responses
from revos.api.routing import ApiRoute

router = APIRouter(prefix="/v1/analytics", tags=["analytics"], route_class=ApiRoute)
BAD_RANGE = error_responses(400)  # from after to, or a range longer than REVOS_ANALYTICS_MAX_DAYS

From = Annotated[date | None, Query(alias="from", description="first day (UTC); default: 30 days before to")]
To = Annotated[date | None, Query(description="last day, included; default: today (UTC)")]
Grain = Annotated[schemas.Granularity, Query(description="day | week (from Monday) | month")]
ClientId = Annotated[UUID | None, Query(description="agency staff: only this client")]
CampaignId = Annotated[UUID | None, Query()]


async def _report(
    ctx: CtxDep,
    name: str,
    start: date | None,
    end: date | None,
    grain: schemas.Granularity,
    filters: dict[str, Any],
) -> Response:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        body = await service.report(
            conn,
            name,
            start=start,
            end=end,
            granularity=grain,
            filters=filters,
            max_days=ctx.runtime.settings.analytics_max_days,
        )
    # The JSON comes whole from the database (service.report): FastAPI would parse, validate and encode
    # hundreds of rows again; response_model still documents the shape.
    return Response(body, media_type="application/json")


@router.get("/funnel", response_model=schemas.AnalyticsReport, responses=BAD_RANGE)
async def funnel(
    ctx: CtxDep,
    from_: From = None,
    to: To = None,
    granularity: Grain = "day",
    campaign_id: CampaignId = None,
    client_id: ClientId = None,
) -> Response:
    """comments → leads → DMs → replies → emails → webhooks → clicks, each on the day it happened."""
    filters = {"campaign_id": campaign_id, "client_id": client_id}
    return await _report(ctx, "funnel", from_, to, granularity, filters)


@router.get("/posts", response_model=schemas.AnalyticsReport, responses=BAD_RANGE)
async def posts(
    ctx: CtxDep,
    from_: From = None,
    to: To = None,
    granularity: Grain = "day",
    campaign_id: CampaignId = None,
    post_id: Annotated[UUID | None, Query()] = None,
    client_id: ClientId = None,
) -> Response:
    """Per post: comments (with the trigger word), leads made and first DMs sent."""
    filters = {"campaign_id": campaign_id, "post_id": post_id, "client_id": client_id}
    return await _report(ctx, "posts", from_, to, granularity, filters)


@router.get("/templates", response_model=schemas.AnalyticsReport, responses=BAD_RANGE)
async def templates(
    ctx: CtxDep,
    from_: From = None,
    to: To = None,
    granularity: Grain = "day",
    campaign_id: CampaignId = None,
    step: Annotated[int | None, Query(ge=1, le=3)] = None,
    client_id: ClientId = None,
) -> Response:
    """Per campaign, DM step and template: DMs sent, replied to after, download links opened (step 3)."""
    filters = {"campaign_id": campaign_id, "step": step, "client_id": client_id}
    return await _report(ctx, "templates", from_, to, granularity, filters)


@router.get("/accounts", response_model=schemas.AnalyticsReport, responses=BAD_RANGE)
async def accounts(
    ctx: CtxDep,
    from_: From = None,
    to: To = None,
    granularity: Grain = "day",
    account_id: Annotated[UUID | None, Query(description="one LinkedIn account")] = None,
    kind: Annotated[str | None, Query(description="dm, invitation, post, comment, ...")] = None,
    client_id: ClientId = None,
) -> Response:
    """Per account and kind (the account's local days): budget used, and the ledger's outcomes."""
    filters = {"linkedin_account_id": account_id, "kind": kind, "client_id": client_id}
    return await _report(ctx, "accounts", from_, to, granularity, filters)


@router.get("/pods", response_model=schemas.AnalyticsReport, responses=BAD_RANGE)
async def pods(
    ctx: CtxDep,
    from_: From = None,
    to: To = None,
    granularity: Grain = "day",
    pod_id: Annotated[UUID | None, Query()] = None,
    member_id: Annotated[UUID | None, Query()] = None,
    client_id: ClientId = None,
) -> Response:
    """Per pod member: engagements scheduled, completed, failed, skipped, pending."""
    filters = {"pod_id": pod_id, "member_id": member_id, "client_id": client_id}
    return await _report(ctx, "pods", from_, to, granularity, filters)
