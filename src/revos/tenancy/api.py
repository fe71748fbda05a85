"""/v1 endpoints for agencies, clients, users and API keys. Thin: parse, authorize, call service."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.api.deps import CtxDep
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.db import crud
from revos.errors import NotFound
from revos.tenancy import repo, schemas, service

router = APIRouter(prefix="/v1", tags=["tenancy"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.get("/me")
async def me(ctx: CtxDep) -> schemas.Me:
    c = ctx.claims
    return schemas.Me(
        sub=c.sub,
        client_id=c.client_id,
        agency_id=c.agency_id,
        user_role=c.user_role,
        agency_staff=c.is_agency_staff,
        via_api_key=ctx.via_api_key,
    )


@router.get("/agency")
async def get_agency(ctx: CtxDep) -> schemas.Agency:
    ctx.require("agency.read")
    async with ctx.tx() as conn:
        agency_id = ctx.claims.agency_id or (
            await repo.agency_of_client(conn, ctx.claims.client_id) if ctx.claims.client_id else None
        )
        row = await repo.get_agency(conn, agency_id) if agency_id else None
    if row is None:
        raise NotFound("agency not found")
    return schemas.Agency.model_validate(row)


@router.patch("/agency")
async def update_agency(ctx: CtxDep, body: schemas.AgencyUpdate) -> schemas.Agency:
    ctx.require("agency.update")
    assert ctx.claims.agency_id is not None
    async with ctx.tx() as conn:
        return schemas.Agency.model_validate(await service.update_agency(conn, ctx.claims.agency_id, body))


@router.get("/clients")
async def list_clients(ctx: CtxDep, limit: Limit = 50, cursor: Cursor = None) -> Page[schemas.Client]:
    ctx.require("clients.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await crud.page(conn, "clients", cursor=cursor, limit=limit, tenant_column=None)
    return Page(items=[schemas.Client.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/clients", status_code=status.HTTP_201_CREATED)
async def create_client(ctx: CtxDep, body: schemas.ClientCreate) -> schemas.Client:
    ctx.require("clients.create")
    assert ctx.claims.agency_id is not None
    async with ctx.tx() as conn:
        return schemas.Client.model_validate(await service.create_client(conn, ctx.claims.agency_id, body))


@router.get("/clients/{client_id}")
async def get_client(ctx: CtxDep, client_id: UUID) -> schemas.Client:
    ctx.require("clients.read")
    async with ctx.tx() as conn:
        row = await crud.get(conn, "clients", client_id)
    if row is None:
        raise NotFound("client not found")
    return schemas.Client.model_validate(row)


@router.patch("/clients/{client_id}")
async def update_client(ctx: CtxDep, client_id: UUID, body: schemas.ClientUpdate) -> schemas.Client:
    ctx.require("clients.update")
    async with ctx.tx() as conn:
        return schemas.Client.model_validate(await service.update_client(conn, client_id, body))


@router.delete("/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_client(ctx: CtxDep, client_id: UUID) -> Response:
    ctx.require("clients.delete")
    async with ctx.tx() as conn:
        await service.delete_client(conn, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users")
async def list_users(ctx: CtxDep, limit: Limit = 50, cursor: Cursor = None) -> Page[schemas.User]:
    ctx.require("users.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await crud.page(conn, "users", cursor=cursor, limit=limit)
    return Page(items=[schemas.User.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(ctx: CtxDep, body: schemas.UserCreate) -> schemas.User:
    ctx.require("users.manage")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        return schemas.User.model_validate(await service.create_user(conn, client_id, body))


@router.get("/users/{user_id}")
async def get_user(ctx: CtxDep, user_id: UUID) -> schemas.User:
    ctx.require("users.read")
    async with ctx.tx() as conn:
        row = await crud.get(conn, "users", user_id)
    if row is None:
        raise NotFound("user not found")
    return schemas.User.model_validate(row)


@router.patch("/users/{user_id}")
async def update_user(ctx: CtxDep, user_id: UUID, body: schemas.UserUpdate) -> schemas.User:
    ctx.require("users.manage")
    async with ctx.tx() as conn:
        return schemas.User.model_validate(await service.update_user(conn, user_id, body))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(ctx: CtxDep, user_id: UUID) -> Response:
    ctx.require("users.manage")
    async with ctx.tx() as conn:
        if not await crud.delete(conn, "users", user_id):
            raise NotFound("user not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/revoke-tokens",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="end every token issued to this user so far (admins, or the user themself)",
)
async def revoke_user_tokens(ctx: CtxDep, user_id: UUID) -> Response:
    if ctx.user_id != user_id:
        ctx.require("users.manage")
    async with ctx.tx() as conn:
        await service.revoke_user_tokens(conn, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api-keys")
async def list_api_keys(ctx: CtxDep, limit: Limit = 50, cursor: Cursor = None) -> Page[schemas.ApiKey]:
    ctx.require("api_keys.manage")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.list_api_keys(conn, cursor=cursor, limit=limit, client_id=None)
    return Page(items=[schemas.ApiKey.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(ctx: CtxDep, body: schemas.ApiKeyCreate) -> schemas.ApiKeyCreated:
    ctx.require("api_keys.manage")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        row, key = await service.create_api_key(
            conn,
            client_id=client_id,
            name=body.name,
            role=body.role,
            created_by=ctx.user_in(client_id),
        )
    return schemas.ApiKeyCreated.model_validate(row | {"key": key})


@router.delete("/api-keys/{key_id}")
async def revoke_api_key(ctx: CtxDep, key_id: UUID) -> schemas.ApiKey:
    ctx.require("api_keys.manage")
    async with ctx.tx() as conn:
        return schemas.ApiKey.model_validate(await service.revoke_api_key(conn, key_id))
