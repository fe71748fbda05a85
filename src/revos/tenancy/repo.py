"""SQL for agencies, clients, users and API keys. Runs in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
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


# --- who is calling (revos.api.deps) ------------------------------------------------------------------------


async def api_key_by_prefix(conn: Conn, prefix: str) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select id, client_id, key_hash, role, revoked_at, last_used_at from api_keys where key_prefix = %s",
            (prefix,),
        )
    ).fetchone()


async def touch_api_key(conn: Conn, key_id: UUID, now: datetime) -> None:
    await conn.execute("update api_keys set last_used_at = %s where id = %s", (now, key_id))


async def user_for_token(conn: Conn, user_id: UUID) -> dict[str, Any] | None:
    """What a token of the user may do now: their client, its agency, their role, their revocation."""
    return await (
        await conn.execute(
            "select u.id, u.client_id, u.role, u.tokens_valid_after, c.agency_id"
            " from users u join clients c on c.id = u.client_id where u.id = %s",
            (user_id,),
        )
    ).fetchone()


# --- users and the demo tenant ------------------------------------------------------------------------------


async def user_id_by_email(conn: Conn, email: str) -> UUID | None:
    row = await (
        await conn.execute("select id from users where lower(email) = lower(%s)", (email,))
    ).fetchone()
    return row["id"] if row else None


async def agency_id_by_slug(conn: Conn, slug: str) -> UUID | None:
    row = await (await conn.execute("select id from agencies where slug = %s", (slug,))).fetchone()
    return row["id"] if row else None


async def client_id_named(conn: Conn, agency_id: UUID, name: str) -> UUID | None:
    row = await (
        await conn.execute("select id from clients where agency_id = %s and name = %s", (agency_id, name))
    ).fetchone()
    return row["id"] if row else None


async def insert_client_named(conn: Conn, agency_id: UUID, name: str) -> UUID:
    row = await (
        await conn.execute(
            "insert into clients (agency_id, name) values (%s, %s) returning id", (agency_id, name)
        )
    ).fetchone()
    assert row is not None
    client_id: UUID = row["id"]
    return client_id


async def insert_admin(conn: Conn, client_id: UUID, email: str) -> UUID:
    row = await (
        await conn.execute(
            "insert into users (client_id, email, role) values (%s, lower(%s), 'admin') returning id",
            (client_id, email),
        )
    ).fetchone()
    assert row is not None
    user_id: UUID = row["id"]
    return user_id


async def agency_admin(conn: Conn, user_id: UUID) -> dict[str, Any] | None:
    """The user with their role and their client's agency (None when no such user)."""
    return await (
        await conn.execute(
            "select u.id, u.role, c.agency_id from users u join clients c on c.id = u.client_id where u.id = %s",
            (user_id,),
        )
    ).fetchone()


async def record_login(conn: Conn, user_id: UUID) -> None:
    await conn.execute("update users set last_login_at = now() where id = %s", (user_id,))


async def user_emails(conn: Conn, user_ids: list[UUID]) -> dict[UUID, str]:
    rows = await (
        await conn.execute("select id, email from users where id = any(%s)", (user_ids,))
    ).fetchall()
    return {r["id"]: r["email"] for r in rows}
