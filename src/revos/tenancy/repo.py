"""SQL for agencies, clients, users and API keys. Runs in the caller's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.db import crud
from revos.db.pool import Conn

API_KEY_COLUMNS = "id, client_id, name, key_prefix, role, created_at, last_used_at, revoked_at"


async def get_agency(conn: Conn, agency_id: UUID) -> dict[str, Any] | None:
    return await crud.get(conn, "agencies", agency_id)


async def agency_of_client(conn: Conn, client_id: UUID) -> UUID | None:
    row = await (await conn.execute("select agency_id from clients where id = %s", (client_id,))).fetchone()
    return row["agency_id"] if row else None


async def list_api_keys(
    conn: Conn, *, cursor: str | None, limit: int, client_id: UUID | None
) -> tuple[list[dict[str, Any]], str | None]:
    where = [("client_id", client_id)] if client_id else []
    return await crud.page(conn, "api_keys", cursor=cursor, limit=limit, where=where, columns=API_KEY_COLUMNS)


async def revoke_api_key(conn: Conn, key_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "update api_keys set revoked_at = coalesce(revoked_at, now()) where id = %s"
            f" returning {API_KEY_COLUMNS}",
            (key_id,),
        )
    ).fetchone()


async def revoke_user_tokens(conn: Conn, user_id: UUID) -> bool:
    """Every JWT of the user issued until now stops working (revos.api.deps compares `iat`)."""
    row = await (
        await conn.execute(
            "update users set tokens_valid_after = now() where id = %s returning id",
            (user_id,),
        )
    ).fetchone()
    return row is not None
