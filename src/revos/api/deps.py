"""Request dependencies: who is calling (JWT or API key) and a tenant transaction for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request

from revos.api.permissions import require
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Unauthorized
from revos.runtime import Runtime
from revos.security import apikeys
from revos.security import jwt as jwt_tokens

API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass
class Ctx:
    """The caller and the way to open its transaction: one per request, RLS-scoped."""

    runtime: Runtime
    claims: jwt_tokens.Claims
    via_api_key: bool = False

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Conn]:
        async with self.runtime.db.tenant(self.claims.for_database()) as conn:
            yield conn

    def require(self, permission: str) -> None:
        require(self.claims, permission)


async def _claims_for_api_key(runtime: Runtime, key: str) -> jwt_tokens.Claims:
    prefix = apikeys.split(key)
    if prefix is None:
        raise Unauthorized("malformed API key")
    # The key is not a tenant yet: look it up as the service role, then act as its client.
    async with runtime.db.service(actor="api-key-auth") as conn:
        row = await (
            await conn.execute(
                "select id, client_id, key_hash, role, revoked_at, last_used_at"
                " from api_keys where key_prefix = %s",
                (prefix,),
            )
        ).fetchone()
        if row is None or not apikeys.matches(key, row["key_hash"]):
            raise Unauthorized("unknown API key")
        if row["revoked_at"] is not None:
            raise Unauthorized("API key revoked")
        now = utcnow()
        if row["last_used_at"] is None or now - row["last_used_at"] > API_KEY_TOUCH_INTERVAL:
            await conn.execute("update api_keys set last_used_at = %s where id = %s", (now, row["id"]))
    return jwt_tokens.Claims(sub=f"api_key:{row['id']}", client_id=row["client_id"], user_role=row["role"])


async def get_ctx(
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Ctx:
    if x_api_key:
        return Ctx(runtime, await _claims_for_api_key(runtime, x_api_key.strip()), via_api_key=True)
    if not authorization:
        raise Unauthorized("missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    token = token.strip()
    if token.startswith(apikeys.SCHEME + "_"):
        return Ctx(runtime, await _claims_for_api_key(runtime, token), via_api_key=True)
    return Ctx(runtime, jwt_tokens.verify(token, runtime.jwt_secret))


CtxDep = Annotated[Ctx, Depends(get_ctx)]
