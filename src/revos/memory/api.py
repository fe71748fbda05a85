"""/v1/memories: add, list, read, delete, and search by meaning. Thin."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from revos.ai import embeddings
from revos.api.deps import CtxDep
from revos.api.openapi import error_responses
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.memory import repo, schemas, service

router = APIRouter(prefix="/v1/memories", tags=["memory"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
TypeFilter = Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,49}$", description="only this type")]


def view(row: dict[str, Any]) -> schemas.Memory:
    return schemas.Memory.model_validate(row)


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 502))
async def add_memory(ctx: CtxDep, body: schemas.MemoryCreate) -> schemas.Memory:
    ctx.require("campaigns.write")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        row = await service.add(
            ctx.runtime,
            conn,
            client_id=client_id,
            user_id=body.user_id,
            memory_type=body.memory_type,
            content=body.content,
            metadata=body.metadata,
        )
    return view(row)


@router.get("")
async def list_memories(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    memory_type: TypeFilter = None,
    user_id: Annotated[UUID | None, Query(description="only this user's memories")] = None,
    client_id: Annotated[UUID | None, Query(description="agency staff: one client only")] = None,
) -> Page[schemas.Memory]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(
            conn, cursor=cursor, limit=limit, client_id=client_id, user_id=user_id, memory_type=memory_type
        )
    return Page(items=[view(r) for r in rows], next_cursor=next_cursor)


@router.post("/search", responses=error_responses(404, 502))
async def search_memories(ctx: CtxDep, body: schemas.MemorySearch) -> schemas.SearchResult:
    ctx.require("campaigns.read")
    client_id = target_client(ctx.claims, body.client_id)
    async with ctx.tx() as conn:
        hits = await service.search(
            ctx.runtime,
            conn,
            client_id=client_id,
            query=body.query,
            k=body.k,
            threshold=body.threshold,
            user_id=body.user_id,
            memory_type=body.memory_type,
        )
    model = embeddings.signature(embeddings.embedder(ctx.runtime.settings))
    return schemas.SearchResult(
        items=[schemas.MemoryHit.model_validate(h) for h in hits], embedding_model=model
    )


@router.get("/{memory_id}")
async def get_memory(ctx: CtxDep, memory_id: UUID) -> schemas.Memory:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return view(await service.get_memory(conn, memory_id))


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_memory(ctx: CtxDep, memory_id: UUID) -> Response:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        await service.delete_memory(ctx.runtime, conn, memory_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
