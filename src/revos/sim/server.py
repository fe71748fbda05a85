"""The ASGI app: API-key check, fault injection and request log around the Unipile v1 routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revos.sim.errors import SimError
from revos.sim.records import RequestRecord

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator

PREFIX = "/api/v1"
HOSTED_PAGES = "/hosted/"
log = logging.getLogger("revos.sim")
# The part's header lines are non-empty up to the blank line: `*` there would let the match run on
# into later parts and capture another field's value.
_FORM_ACCOUNT = re.compile(rb'name="account_id"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]+)')


def error_response(err: SimError, instance: str) -> JSONResponse:
    return JSONResponse(err.body(instance), status_code=err.status)


def create_app(sim: Simulator) -> FastAPI:
    from revos.sim import (
        routes_accounts,
        routes_chats,
        routes_hosted,
        routes_posts,
        routes_users,
        routes_webhooks,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Under a real server, persona actions and webhook retries run by themselves.
        sim.webhooks.loop = asyncio.get_running_loop()
        ticker = asyncio.create_task(_tick(sim))
        try:
            yield
        finally:
            sim.faults.stopping = True
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    app = FastAPI(title="revOS Unipile simulator", lifespan=lifespan, openapi_url=None, docs_url=None)
    for module in (routes_accounts, routes_users, routes_posts, routes_chats, routes_webhooks):
        app.include_router(module.router(sim), prefix=PREFIX)
    app.include_router(routes_hosted.api_router(sim), prefix=PREFIX)
    app.include_router(routes_hosted.page_router(sim))

    @app.exception_handler(SimError)
    async def _sim_error(request: Request, exc: SimError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(SimError(400, "invalid_parameters", str(exc.errors())), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "resource_not_found", 405: "invalid_request"}.get(exc.status_code, "invalid_request")
        return error_response(SimError(exc.status_code, kind, str(exc.detail)), request.url.path)

    app.add_middleware(Gate, sim=sim)
    return app


async def _tick(sim: Simulator) -> None:
    while True:
        await sim.run_due()
        await asyncio.sleep(sim.tick_interval)


class Gate:
    """Runs before routing: API key, fault rules (before and after the action), request log."""

    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(HOSTED_PAGES):
            # The hosted-auth page is opened by a member's browser: no API key, no faults, no request log.
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if headers.get("x-api-key") != self.sim.api_key:
            err = SimError(401, "missing_credentials", "Some credentials are necessary to access this route.")
            await error_response(err, path)(scope, receive, send)
            return
        body = await _read_body(receive)
        sub = path[len(PREFIX) :] if path.startswith(PREFIX) else path
        query = parse_qs(scope.get("query_string", b"").decode())
        account_id = self._account_for(sub, query, body, headers.get("content-type", ""))
        record = RequestRecord(self.sim.clock.now(), method, sub, account_id, 0)
        self.sim.requests.append(record)

        failure = await self.sim.faults.before(method, sub, account_id)
        if failure is not None:
            record.status = failure.status
            await error_response(failure, path)(scope, receive, send)
            return

        sent: list[Message] = []

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # blocks until the client disconnects, as uvicorn's would
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            sent.append(message)

        await self.app(scope, replay, capture)
        status = next((m["status"] for m in sent if m["type"] == "http.response.start"), 500)
        record.status = status
        if status < 400 and self.sim.faults.has_after_rules():
            failure = await self.sim.faults.after(method, sub, account_id)
            if failure is not None:
                # The action took effect; the client only learns that it timed out.
                record.status = failure.status
                await error_response(failure, path)(scope, receive, send)
                return
        for message in sent:
            await send(message)

    def _account_for(self, sub: str, query: dict[str, list[str]], body: bytes, ctype: str) -> str | None:
        """Which account a call acts for, so faults can target one account."""
        if query.get("account_id"):
            return query["account_id"][0].split(",")[0]
        world = self.sim.world
        parts = sub.strip("/").split("/")
        if parts[0] == "accounts" and len(parts) >= 2 and parts[1] != "checkpoint":
            return parts[1]
        if parts[0] == "chats" and len(parts) >= 2 and parts[1] in world.chats:
            return world.chats[parts[1]].account_id
        if parts[0] == "messages" and len(parts) >= 2 and parts[1] in world.messages:
            return world.messages[parts[1]].account_id
        if not body:
            return None
        if ctype.startswith("application/json") or body[:1] == b"{":
            try:
                data: Any = json.loads(body)
            except ValueError:
                return None
            value = data.get("account_id") if isinstance(data, dict) else None
            return value if isinstance(value, str) else None
        if ctype.startswith("multipart/form-data"):
            match = _FORM_ACCOUNT.search(body)
            return match.group(1).decode(errors="replace") if match else None
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode(errors="replace"))
            return form["account_id"][0] if form.get("account_id") else None
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
