"""Request dependencies: who is calling (JWT or API key) and a tenant transaction for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol
from uuid import UUID

from fastapi import Depends, FastAPI, Header, Request

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


class Principals(Protocol):
    """Where callers are looked up: API keys and users are the tenancy domain's rows
    (`revos.tenancy.repo`), handed to the app by its factory (`install`), so this toolkit imports no domain."""

    async def api_key_by_prefix(self, conn: Conn, prefix: str) -> dict[str, Any] | None: ...

    async def touch_api_key(self, conn: Conn, key_id: UUID, now: datetime) -> None: ...

    async def user_for_token(self, conn: Conn, user_id: UUID) -> dict[str, Any] | None: ...


def install(app: FastAPI, principals: Principals) -> None:
    """Authenticate the app's requests against `principals`."""
    app.state.principals = principals


@dataclass
class Ctx:
    """The caller and the way to open its transaction: one per request, RLS-scoped."""

    runtime: Runtime
    claims: jwt_tokens.Claims
    via_api_key: bool = False
    user_id: UUID | None = None  # the person behind a JWT (None for API keys)
    user_client_id: UUID | None = None  # their own client (agency staff act in others too)

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Conn]:
        async with self.runtime.db.tenant(self.claims.for_database()) as conn:
            yield conn

    def require(self, permission: str) -> None:
        require(self.claims, permission)

    def user_in(self, client_id: UUID) -> UUID | None:
        """The calling person, when they are a user of `client_id` (rows there may name them); agency
        staff acting in another client, and API keys, are no user of it (the audit trail names them)."""
        return self.user_id if self.user_client_id == client_id else None


async def _claims_for_api_key(runtime: Runtime, principals: Principals, key: str) -> jwt_tokens.Claims:
    prefix = apikeys.split(key)
    if prefix is None:
        raise Unauthorized("malformed API key")
    # The key is not a tenant yet: look it up as the service role, then act as its client.
    async with runtime.db.service(actor="api-key-auth") as conn:
        row = await principals.api_key_by_prefix(conn, prefix)
        if row is None or not apikeys.matches(key, row["key_hash"]):
            raise Unauthorized("unknown API key")
        if row["revoked_at"] is not None:
            raise Unauthorized("API key revoked")
        now = utcnow()
        if row["last_used_at"] is None or now - row["last_used_at"] > API_KEY_TOUCH_INTERVAL:
            await principals.touch_api_key(conn, row["id"], now)
    return jwt_tokens.Claims(sub=f"api_key:{row['id']}", client_id=row["client_id"], user_role=row["role"])


ROLE_RANK = {"member": 0, "manager": 1, "admin": 2}


async def _claims_for_user(
    runtime: Runtime, principals: Principals, claims: jwt_tokens.Claims, issued_at: int | None
) -> CurrentUser:
    """Act with the token's user as they are now: gone, demoted, moved or revoked means refused.

    A token may carry a lower role than its user holds (scoped down); it never acts above the user's
    current role."""
    try:
        user_id = UUID(claims.sub)
    except ValueError:
        raise Unauthorized("token subject is not a revOS user") from None
    async with runtime.db.service(actor="token-auth") as conn:
        row = await principals.user_for_token(conn, user_id)
    if row is None:
        raise Unauthorized("the token's user no longer exists")
    revoked = row["tokens_valid_after"]
    if revoked is not None and (issued_at is None or issued_at <= revoked.timestamp()):
        raise Unauthorized("token revoked")
    role = row["role"] or "member"
    if claims.is_agency_staff:
        if role != "admin" or row["agency_id"] != claims.agency_id:
            raise Unauthorized("the token's user is no longer an admin of this agency")
    elif row["client_id"] != claims.client_id:
        raise Unauthorized("the token's user does not belong to this client")
    elif ROLE_RANK.get(claims.user_role, 0) > ROLE_RANK.get(role, 0):
        claims = claims.model_copy(update={"user_role": role})
    return CurrentUser(claims, row["id"], row["client_id"])


@dataclass(frozen=True)
class CurrentUser:
    claims: jwt_tokens.Claims
    user_id: UUID | None
    user_client_id: UUID | None


async def _credentials(
    runtime: Runtime, principals: Principals, authorization: str | None, x_api_key: str | None
) -> Ctx:
    if x_api_key:
        return Ctx(
            runtime, await _claims_for_api_key(runtime, principals, x_api_key.strip()), via_api_key=True
        )
    if not authorization:
        raise Unauthorized("missing credentials: send 'Authorization: Bearer <token>' or 'X-API-Key'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    token = token.strip()
    if token.startswith(apikeys.SCHEME + "_"):
        return Ctx(runtime, await _claims_for_api_key(runtime, principals, token), via_api_key=True)
    claims, issued_at = jwt_tokens.verify_with_issue_time(token, runtime.jwt_secret)
    user = await _claims_for_user(runtime, principals, claims, issued_at)
    return Ctx(runtime, user.claims, user_id=user.user_id, user_client_id=user.user_client_id)


def _principals(request: Request) -> Principals:
    principals: Principals | None = getattr(request.app.state, "principals", None)
    if principals is None:
        raise RuntimeError("no caller lookup installed: call revos.api.deps.install(app, principals)")
    return principals


async def authenticate(request: Request) -> Ctx:
    """The caller of a request, from its headers alone (the body is not read yet)."""
    return await _credentials(
        get_runtime(request),
        _principals(request),
        request.headers.get("authorization"),
        request.headers.get("x-api-key"),
    )


async def get_ctx(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Ctx:
    ctx = getattr(request.state, "ctx", None)
    if isinstance(ctx, Ctx):  # authenticated by ApiRoute before the body was read
        return ctx
    return await _credentials(runtime, _principals(request), authorization, x_api_key)


CtxDep = Annotated[Ctx, Depends(get_ctx)]
