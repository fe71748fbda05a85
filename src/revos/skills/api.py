"""/v1/campaigns/{id}/skills and /v1/skill-executions: configure, run and review campaign skills, and read
their execution log. Thin: parse, authorize, call the service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.api.deps import CtxDep
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.skills import schemas, service

router = APIRouter(tags=["skills"], route_class=ApiRoute)
SKILLS = "/v1/campaigns/{campaign_id}/skills"
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.get(SKILLS, summary="the four skills of the campaign, configured or not")
async def list_skills(ctx: CtxDep, campaign_id: UUID) -> schemas.SkillList:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return schemas.SkillList(items=await service.skills_of(conn, campaign_id))


@router.get(SKILLS + "/executions", summary="the campaign's execution log, newest first")
async def list_executions(
    ctx: CtxDep,
    campaign_id: UUID,
    limit: Limit = 50,
    cursor: Cursor = None,
    skill: Annotated[str | None, Query(max_length=60, description="one skill only")] = None,
    success: Annotated[
        bool | None, Query(description="only successful (true) or failed (false) runs")
    ] = None,
    review_status: Annotated[schemas.ReviewStatus | None, Query(description="human runs by review")] = None,
) -> Page[schemas.Execution]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await service.executions(
            conn,
            campaign_id,
            skill=skill,
            success=success,
            review_status=review_status,
            cursor=cursor,
            limit=limit,
        )
    return Page(items=[service.execution_view(r) for r in rows], next_cursor=next_cursor)


@router.get(SKILLS + "/{name}")
async def get_skill(ctx: CtxDep, campaign_id: UUID, name: str) -> schemas.Skill:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return await service.skill_of(conn, campaign_id, name)


@router.put(SKILLS + "/{name}", summary="configure a skill: mode, schedule, options, enabled")
async def configure_skill(
    ctx: CtxDep, campaign_id: UUID, name: str, body: schemas.SkillConfigure
) -> schemas.Skill:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        row = await service.configure(conn, campaign_id, name, body)
    return service.skill_view(campaign_id, name, row)


@router.delete(SKILLS + "/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="back to the defaults")
async def unconfigure_skill(ctx: CtxDep, campaign_id: UUID, name: str) -> Response:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        await service.unconfigure(conn, campaign_id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(SKILLS + "/{name}/run", status_code=status.HTTP_201_CREATED, summary="run a skill now")
async def run_skill(
    ctx: CtxDep, campaign_id: UUID, name: str, body: schemas.RunBody | None = None
) -> schemas.Execution:
    """Runs the skill with its configuration, `input` overriding it, and answers the run's log entry. A run
    that fails still has its entry: the error's `info.execution_id` names it."""
    ctx.require("campaigns.write")
    row = await service.run(
        ctx.runtime,
        ctx.tx,
        campaign_id=campaign_id,
        skill=name,
        overrides=body.input if body else None,
        caller=ctx.user_id if ctx.user_client_id is not None else None,
    )
    return service.execution_view(row)


@router.get("/v1/skill-executions/{execution_id}")
async def get_execution(ctx: CtxDep, execution_id: UUID) -> schemas.Execution:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return service.execution_view(await service.get_execution(conn, execution_id))


@router.post("/v1/skill-executions/{execution_id}/approve", summary="approve a human run (optionally edited)")
async def approve(ctx: CtxDep, execution_id: UUID, body: schemas.Approve | None = None) -> schemas.Execution:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        current = await service.get_execution(conn, execution_id)
        row = await service.approve(
            ctx.runtime,
            conn,
            execution_id,
            body or schemas.Approve(),
            reviewer=ctx.user_in(current["client_id"]),
        )
    return service.execution_view(row)


@router.post("/v1/skill-executions/{execution_id}/reject", summary="reject a human run, with the reason")
async def reject(ctx: CtxDep, execution_id: UUID, body: schemas.Reject) -> schemas.Execution:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        current = await service.get_execution(conn, execution_id)
        row = await service.reject(conn, execution_id, body, reviewer=ctx.user_in(current["client_id"]))
    return service.execution_view(row)
