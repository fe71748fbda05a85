"""/v1/cartridges: voice cartridges, their resolved voice, versions and auto-generation. Thin.

Tenants read their own cartridges and the system ones; system cartridges are written by operators only
(staff with an operator token), through the service role since no tenant may write shared rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from revos.api.deps import Ctx, CtxDep
from revos.api.openapi import error_responses
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.cartridges import generate, repo, schemas, service
from revos.db.pool import Conn

router = APIRouter(prefix="/v1/cartridges", tags=["cartridges"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@asynccontextmanager
async def _operator_tx(ctx: Ctx) -> AsyncIterator[Conn]:
    ctx.require("cartridges.system.write")
    async with ctx.runtime.db.service(actor=f"operator:{ctx.claims.sub}") as conn:
        yield conn


async def _tier_of(ctx: Ctx, cartridge_id: UUID) -> str:
    async with ctx.tx() as conn:
        return str((await service.get(conn, cartridge_id))["tier"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(429, 502, 503))
async def create_cartridge(ctx: CtxDep, body: schemas.CartridgeCreate) -> schemas.Cartridge:
    if body.tier == "system":
        async with _operator_tx(ctx) as conn:
            return service.view(await service.create(conn, client_id=None, body=body))
    ctx.require("cartridges.write")
    client_id = target_client(ctx.claims, body.client_id)
    learned = None
    if body.auto_generate:  # read and derive first: a failure creates nothing
        async with ctx.tx() as conn:
            await service.prepare(conn, client_id=client_id, body=body)
            source = await generate.source_account(
                conn, client_id=client_id, user_id=body.user_id, linkedin_account_id=body.linkedin_account_id
            )
        learned = await generate.learn(
            ctx.runtime, source, client_id=client_id, max_posts=schemas.DEFAULT_POSTS
        )
    async with ctx.tx() as conn:
        row = await service.create(conn, client_id=client_id, body=body)
        if learned is not None:
            row = await generate.store(conn, row["id"], learned)
    return service.view(row)


@router.get("")
async def list_cartridges(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    tier: Annotated[
        schemas.Tier | None, Query(description="only this tier; 'system' lists the shared ones")
    ] = None,
    user_id: UUID | None = None,
    skill: Annotated[schemas.Skill | None, Query()] = None,
    active: bool | None = None,
    client_id: Annotated[UUID | None, Query(description="agency staff: one client only")] = None,
) -> Page[schemas.Cartridge]:
    ctx.require("cartridges.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=limit, client_id=client_id, tier=tier, user_id=user_id, skill=skill,
            active=active,
        )  # fmt: skip
    return Page(items=[service.view(r) for r in rows], next_cursor=next_cursor)


@router.get("/{cartridge_id}")
async def get_cartridge(ctx: CtxDep, cartridge_id: UUID) -> schemas.Cartridge:
    ctx.require("cartridges.read")
    async with ctx.tx() as conn:
        return service.view(await service.get(conn, cartridge_id))


@router.patch("/{cartridge_id}", responses=error_responses(404, 409))
async def update_cartridge(
    ctx: CtxDep, cartridge_id: UUID, body: schemas.CartridgeUpdate
) -> schemas.Cartridge:
    ctx.require("cartridges.read")
    if await _tier_of(ctx, cartridge_id) == "system":
        async with _operator_tx(ctx) as conn:
            return service.view(await service.update(conn, cartridge_id, body))
    ctx.require("cartridges.write")
    async with ctx.tx() as conn:
        return service.view(await service.update(conn, cartridge_id, body))


@router.delete("/{cartridge_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 409))
async def delete_cartridge(ctx: CtxDep, cartridge_id: UUID) -> Response:
    ctx.require("cartridges.read")
    if await _tier_of(ctx, cartridge_id) == "system":
        async with _operator_tx(ctx) as conn:
            await service.delete(conn, cartridge_id)
    else:
        ctx.require("cartridges.write")
        async with ctx.tx() as conn:
            await service.delete(conn, cartridge_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{cartridge_id}/resolved", summary="the merged voice and knowledge, with each field's origin")
async def resolved_cartridge(ctx: CtxDep, cartridge_id: UUID) -> schemas.ResolvedCartridge:
    ctx.require("cartridges.read")
    async with ctx.tx() as conn:
        return service.resolved_view(await service.resolve(conn, cartridge_id))


@router.get("/{cartridge_id}/versions", summary="every version of the cartridge, newest first")
async def list_versions(
    ctx: CtxDep,
    cartridge_id: UUID,
    limit: Limit = 50,
    before: Annotated[int | None, Query(ge=1, description="only versions before this number")] = None,
) -> list[schemas.Version]:
    ctx.require("cartridges.read")
    async with ctx.tx() as conn:
        rows = await service.versions(conn, cartridge_id, limit=limit, before=before)
    return [service.version_view(r) for r in rows]


@router.get("/{cartridge_id}/versions/{number}")
async def get_version(ctx: CtxDep, cartridge_id: UUID, number: Annotated[int, Path(ge=1)]) -> schemas.Version:
    ctx.require("cartridges.read")
    async with ctx.tx() as conn:
        return service.version_view(await service.version(conn, cartridge_id, number))


@router.post(
    "/{cartridge_id}/generate",
    summary="learn the voice from the user's own LinkedIn posts (again)",
    responses=error_responses(429, 502, 503),
)
async def generate_voice(
    ctx: CtxDep, cartridge_id: UUID, body: schemas.GenerateRequest | None = None
) -> schemas.Cartridge:
    ctx.require("cartridges.write")
    request = body or schemas.GenerateRequest()
    row = await generate.regenerate(
        ctx.runtime, ctx.tx, cartridge_id, linkedin_account_id=request.linkedin_account_id,
        max_posts=request.max_posts,
    )  # fmt: skip
    return service.view(row)
