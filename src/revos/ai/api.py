"""/v1/ai: the client's AI settings (the API key write-only) and its token usage this month. Thin."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from revos.ai import client_settings, repo, schemas, service
from revos.api.deps import CtxDep
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute

router = APIRouter(prefix="/v1/ai", tags=["ai"], route_class=ApiRoute)
ClientQuery = Annotated[UUID | None, Query(description="agency staff: the client")]
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default: this month")
]


@router.get("/settings")
async def read_settings(ctx: CtxDep, client_id: ClientQuery = None) -> schemas.AiSettings:
    ctx.require("clients.update")
    target = target_client(ctx.claims, client_id)
    async with ctx.tx() as conn:
        row = await repo.settings_of(conn, target)
    return schemas.AiSettings.model_validate(client_settings.view(ctx.runtime.settings, row, target))


@router.put("/settings")
async def write_settings(ctx: CtxDep, body: schemas.AiSettingsUpdate) -> schemas.AiSettings:
    """Replace the client's AI settings; `api_key` left out keeps the stored key, `null` removes it."""
    ctx.require("clients.update")
    target = target_client(ctx.claims, body.client_id)
    changes = body.model_dump(exclude={"client_id", "api_key"})
    if "api_key" in body.model_fields_set:
        changes["api_key"] = body.api_key
    async with ctx.tx() as conn:
        row = await client_settings.update(ctx.runtime, conn, target, changes)
    return schemas.AiSettings.model_validate(client_settings.view(ctx.runtime.settings, row, target))


@router.get("/usage")
async def read_usage(ctx: CtxDep, client_id: ClientQuery = None, month: Month = None) -> schemas.AiUsage:
    ctx.require("clients.read")
    target = target_client(ctx.claims, client_id)
    first = date(int(month[:4]), int(month[5:]), 1) if month else None
    async with ctx.tx() as conn:
        result = await service.usage(ctx.runtime, conn, client_id=target, month=first)
    return schemas.AiUsage.model_validate(result)
