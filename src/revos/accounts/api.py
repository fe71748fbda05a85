"""/v1/linkedin-accounts: connect (with checkpoints), reconnect, list, get, update, pause, resume, delete."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from revos.accounts import connecting, hosted, repo, schemas, service
from revos.api.deps import CtxDep, RuntimeDep
from revos.api.openapi import error_responses
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.errors import NotFound, RevosError

router = APIRouter(prefix="/v1/linkedin-accounts", tags=["linkedin accounts"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
NOTIFY_MAX_BYTES = 16 * 1024


class PayloadTooLarge(RevosError):
    status_code = 413
    code = "payload_too_large"


ClientQuery = Annotated[
    UUID | None, Query(description="agency tokens: the client to connect the account for")
]


def _answer(row: dict[str, Any], created: bool = False) -> JSONResponse:
    account = schemas.LinkedInAccount.from_row(row)
    code = status.HTTP_202_ACCEPTED if account.checkpoint else (201 if created else 200)
    return JSONResponse(account.model_dump(mode="json"), status_code=code)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.LinkedInAccount,
    responses={
        202: {"description": "LinkedIn asks for a verification: see `checkpoint`"},
        **error_responses(502, 503),
    },
)
async def connect(ctx: CtxDep, body: schemas.AccountConnect, client_id: ClientQuery = None) -> JSONResponse:
    ctx.require("linkedin_accounts.manage")
    owner = target_client(ctx.claims, client_id)
    user_id = ctx.user_in(owner)
    row = await connecting.connect(ctx.runtime, ctx.tx, client_id=owner, user_id=user_id, body=body)
    return _answer(row, created=True)


@router.post(
    "/hosted-link",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(502, 503),
    summary="Link to connect (or reconnect) an account on Unipile's page, without giving revOS the login",
)
async def hosted_link(
    ctx: CtxDep, body: schemas.HostedLinkCreate, client_id: ClientQuery = None
) -> schemas.HostedLink:
    ctx.require("linkedin_accounts.manage")
    owner = target_client(ctx.claims, client_id)
    user_id = ctx.user_in(owner)
    link = await hosted.create_link(ctx.runtime, ctx.tx, client_id=owner, user_id=user_id, body=body)
    return schemas.HostedLink(**link)


@router.post(
    "/hosted-link/notify/{token}",
    response_model=schemas.LinkedInAccount,
    responses=error_responses(400, 401, 409, 413, 502, 503),
    summary="Unipile's hosted-auth callback (authenticated by the signed token in its path)",
)
async def hosted_link_notify(token: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    raw = await request.body()
    if len(raw) > NOTIFY_MAX_BYTES:
        raise PayloadTooLarge(f"notification larger than {NOTIFY_MAX_BYTES} bytes")
    row = await hosted.notified(runtime, token, raw)
    return _answer(row)


@router.get("")
async def list_accounts(
    ctx: CtxDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[schemas.LinkedInAccount]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(conn, cursor=cursor, limit=limit)
    return Page(items=[schemas.LinkedInAccount.from_row(r) for r in rows], next_cursor=next_cursor)


@router.get("/{account_id}")
async def get_account(ctx: CtxDep, account_id: UUID) -> schemas.LinkedInAccount:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        row = await repo.get(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")
    return schemas.LinkedInAccount.from_row(row)


@router.patch("/{account_id}")
async def update_account(
    ctx: CtxDep, account_id: UUID, body: schemas.AccountUpdate
) -> schemas.LinkedInAccount:
    ctx.require("linkedin_accounts.manage")
    async with ctx.tx() as conn:
        return schemas.LinkedInAccount.from_row(await service.update(ctx.runtime, conn, account_id, body))


@router.post(
    "/{account_id}/checkpoint",
    response_model=schemas.LinkedInAccount,
    responses=error_responses(410, 502, 503),
)
async def solve_checkpoint(ctx: CtxDep, account_id: UUID, body: schemas.CheckpointSolve) -> JSONResponse:
    ctx.require("linkedin_accounts.manage")
    return _answer(await connecting.solve_checkpoint(ctx.runtime, ctx.tx, account_id, body.code))


@router.post(
    "/{account_id}/checkpoint/resend",
    response_model=schemas.LinkedInAccount,
    responses=error_responses(410, 502, 503),
)
async def resend_checkpoint(ctx: CtxDep, account_id: UUID) -> JSONResponse:
    ctx.require("linkedin_accounts.manage")
    return _answer(await connecting.resend_checkpoint(ctx.runtime, ctx.tx, account_id))


@router.post(
    "/{account_id}/reconnect",
    response_model=schemas.LinkedInAccount,
    responses=error_responses(410, 502, 503),
)
async def reconnect(ctx: CtxDep, account_id: UUID, body: schemas.Reconnect | None = None) -> JSONResponse:
    ctx.require("linkedin_accounts.manage")
    return _answer(await connecting.reconnect(ctx.runtime, ctx.tx, account_id, body))


@router.post("/{account_id}/pause")
async def pause(
    ctx: CtxDep, account_id: UUID, body: schemas.PauseRequest | None = None
) -> schemas.LinkedInAccount:
    ctx.require("linkedin_accounts.manage")
    body = body or schemas.PauseRequest()
    async with ctx.tx() as conn:
        return schemas.LinkedInAccount.from_row(
            await service.pause(conn, account_id, body.reason, body.until)
        )


@router.post("/{account_id}/resume")
async def resume(ctx: CtxDep, account_id: UUID) -> schemas.LinkedInAccount:
    ctx.require("linkedin_accounts.manage")
    async with ctx.tx() as conn:
        return schemas.LinkedInAccount.from_row(await service.resume(ctx.runtime, conn, account_id))


@router.delete("/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(ctx: CtxDep, account_id: UUID) -> Response:
    ctx.require("linkedin_accounts.manage")
    await connecting.delete(ctx.runtime, ctx.tx, account_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
