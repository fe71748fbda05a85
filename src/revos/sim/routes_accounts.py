"""/accounts: connect, checkpoints, list, get, delete, reconnect (spec §4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from revos.sim import serialize
from revos.sim.errors import SimError, invalid
from revos.sim.http import ListQuery, read_payload, respond

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator


def router(sim: Simulator) -> APIRouter:
    r = APIRouter()
    world = sim.world

    @r.post("/accounts")
    async def create_account(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        status, body = sim.auth.connect(payload.as_dict())
        return respond(body, status)

    @r.post("/accounts/checkpoint")
    async def solve_checkpoint(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        status, body = sim.auth.solve(payload.as_dict())
        return respond(body, status)

    @r.post("/accounts/checkpoint/resend")
    async def resend_checkpoint(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        status, body = sim.auth.resend(payload.as_dict())
        return respond(body, status)

    @r.get("/accounts")
    async def list_accounts(request: Request) -> JSONResponse:
        q = ListQuery(request, max_limit=250)
        items = sorted(world.accounts.values(), key=lambda a: a.created_at)
        ordered = [_Seq(i, a) for i, a in enumerate(items)]
        page, cursor, _ = q.page(ordered, {})
        return respond(
            {"object": "AccountList", "items": [serialize.account(x.item) for x in page], "cursor": cursor}
        )

    @r.get("/accounts/{account_id}")
    async def get_account(account_id: str) -> JSONResponse:
        return respond(serialize.account(world.account(account_id, usable=False)))

    @r.delete("/accounts/{account_id}")
    async def delete_account(account_id: str) -> JSONResponse:
        account = world.account(account_id, usable=False)
        world.emit("account_status", account.id, message="DELETED")
        with world.lock:
            del world.accounts[account.id]
            if account.login.account_id == account.id:
                account.login.account_id = None
        return respond({"object": "AccountDeleted"})

    @r.post("/accounts/{account_id}")
    async def reconnect_account(account_id: str, request: Request) -> JSONResponse:
        account = world.account(account_id, usable=False)
        payload = await read_payload(request)
        status, body = sim.auth.connect(payload.as_dict(), reconnect=account)
        return respond(body, status)

    @r.get("/accounts/{account_id}/sync")
    async def resync_account(account_id: str, request: Request) -> JSONResponse:
        account = world.account(account_id)
        product = request.query_params.get("linkedin_product")
        if product is not None and product not in ("classic", "recruiter", "sales_navigator"):
            raise invalid("linkedin_product must be classic, recruiter or sales_navigator")
        return respond({"object": "AccountResync", "status": world.resync(account)})

    @r.post("/accounts/{account_id}/restart")
    async def restart_account(account_id: str) -> JSONResponse:
        account = world.account(account_id, usable=False)
        if account.status == "CREDENTIALS":
            raise SimError(401, "disconnected_account", "Reconnect the account with its credentials")
        world.set_status(account, "OK")
        return respond({"object": "AccountRestarted", "account_id": account.id})

    return r


class _Seq:
    """Gives accounts (which have no world sequence number) a stable position for cursors."""

    def __init__(self, seq: int, item: Any) -> None:
        self.seq = seq
        self.item = item
