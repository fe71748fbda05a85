"""SQL for cartridges and their versions. Runs in the caller's transaction; Row Level Security decides
what a tenant sees (its own cartridges and the system ones)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from revos.db import crud
from revos.db.pool import Conn

TABLE = "cartridges"
MAX_DEPTH = 32


async def _mark(conn: Conn, change: str) -> None:
    """The kind of the next change, for the version the database records (revos_record_cartridge_version)."""
    await conn.execute("select set_config('revos.cartridge_change', %s, true)", (change,))


async def insert(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    await _mark(conn, "create")
    return await crud.insert(conn, TABLE, values)


async def update(
    conn: Conn, cartridge_id: UUID, values: dict[str, Any], *, change: str = "update"
) -> dict[str, Any]:
    await _mark(conn, change)
    row = await crud.update(conn, TABLE, cartridge_id, values)
    assert row is not None, "the caller locked the row"
    return row


async def delete(conn: Conn, cartridge_id: UUID) -> bool:
    return await crud.delete(conn, TABLE, cartridge_id)


async def get(conn: Conn, cartridge_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from cartridges where id = %s{lock}", (cartridge_id,))
    ).fetchone()


async def children(conn: Conn, cartridge_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select id, name from cartridges where parent_cartridge_id = %s order by name limit 20",
            (cartridge_id,),
        )
    ).fetchall()


async def chain(conn: Conn, cartridge_id: UUID) -> list[dict[str, Any]]:
    """The cartridge and its ancestors, nearest first (depth 0 is the cartridge). A cycle stops the walk."""
    return await (
        await conn.execute(
            """
            with recursive up as (
              select c.*, 0 as depth, array[c.id] as path from cartridges c where c.id = %s
              union all
              select p.*, up.depth + 1, up.path || p.id
              from up join cartridges p on p.id = up.parent_cartridge_id
              where not p.id = any(up.path) and up.depth < %s
            )
            select * from up order by depth
            """,
            (cartridge_id, MAX_DEPTH),
        )
    ).fetchall()


async def active_ids(conn: Conn, owner: Mapping[str, Any]) -> list[UUID]:
    """Active cartridges with the same owner (client, tier, user, skill) as `owner`, other than itself."""
    rows = await (
        await conn.execute(
            "select id from cartridges where active and client_id = %s and tier = %s"
            " and user_id is not distinct from %s and skill is not distinct from %s and id is distinct from %s",
            (owner["client_id"], owner["tier"], owner.get("user_id"), owner.get("skill"), owner.get("id")),
        )
    ).fetchall()
    return [r["id"] for r in rows]


async def nearest(conn: Conn, *, client_id: UUID, user_id: UUID | None, skill: str | None) -> UUID | None:
    """The client's active cartridge nearest to (user, skill): the user's skill cartridge, the user's own,
    the client's skill cartridge, the client's workspace cartridge."""
    row = await (
        await conn.execute(
            """
            select id from cartridges
            where active and client_id = %(client)s and (
              (tier = 'skill' and skill = %(skill)s and user_id = %(user)s)
              or (tier = 'user' and user_id = %(user)s)
              or (tier = 'skill' and skill = %(skill)s and user_id is null)
              or tier = 'workspace')
            order by case
              when tier = 'skill' and user_id is not null then 0
              when tier = 'user' then 1
              when tier = 'skill' then 2
              else 3 end, updated_at desc
            limit 1
            """,
            {"client": client_id, "user": user_id, "skill": skill},
        )
    ).fetchone()
    return row["id"] if row else None


async def fingerprint(conn: Conn) -> tuple[Any, ...]:
    """What the resolved voices depend on, in one row: the database (and its server), the number of
    cartridges and a hash of every cartridge's id, version and `updated_at` (`resolution.Voices`)."""
    row = await (
        await conn.execute(
            "select current_database() as db, inet_server_port() as port, pg_postmaster_start_time() as up,"
            " count(*) as n, coalesce(sum(hashtext(id::text || ':' || version || ':' || coalesce(updated_at::text, ''))), 0)"
            " as rows from cartridges"
        )
    ).fetchone()
    assert row is not None
    return tuple(row.values())


async def system_id(conn: Conn, name: str) -> UUID | None:
    """A system cartridge by name, else the oldest system cartridge."""
    row = await (
        await conn.execute(
            "select id from cartridges where client_id is null and tier = 'system'"
            " order by (name = %s) desc, created_at, id limit 1",
            (name,),
        )
    ).fetchone()
    return row["id"] if row else None


async def page(
    conn: Conn,
    *,
    cursor: str | None,
    limit: int,
    client_id: UUID | None,
    tier: str | None,
    user_id: UUID | None,
    skill: str | None,
    active: bool | None,
) -> tuple[list[dict[str, Any]], str | None]:
    where = [("tier", tier), ("user_id", user_id), ("skill", skill), ("active", active)]
    if tier == "system":  # shared rows have no client: one range over them
        return await crud.page(
            conn, TABLE, cursor=cursor, limit=limit, where=where,
            conditions=[("client_id is null", True)], tenant_column=None,
        )  # fmt: skip
    return await crud.page(conn, TABLE, cursor=cursor, limit=limit, where=[("client_id", client_id), *where])


async def versions(conn: Conn, cartridge_id: UUID, *, limit: int, before: int | None) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select cartridge_id, version, change, changed_by, created_at, snapshot from cartridge_versions"
            " where cartridge_id = %s and (%s::int is null or version < %s) order by version desc limit %s",
            (cartridge_id, before, before, limit),
        )
    ).fetchall()


async def version(conn: Conn, cartridge_id: UUID, number: int) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select cartridge_id, version, change, changed_by, created_at, snapshot from cartridge_versions"
            " where cartridge_id = %s and version = %s",
            (cartridge_id, number),
        )
    ).fetchone()


# --- the LinkedIn account whose posts a cartridge learns from (read only: accounts owns the table) ---------

_ACCOUNT = "select id, client_id, user_id, unipile_account_id, profile_data, status from linkedin_accounts"


async def linkedin_account(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    return await (await conn.execute(f"{_ACCOUNT} where id = %s", (account_id,))).fetchone()


async def linkedin_account_of_user(conn: Conn, client_id: UUID, user_id: UUID) -> dict[str, Any] | None:
    """The user's connected account: active first, then the most recently connected."""
    return await (
        await conn.execute(
            f"{_ACCOUNT} where client_id = %s and user_id = %s and unipile_account_id is not null"
            " order by (status = 'active') desc, created_at desc limit 1",
            (client_id, user_id),
        )
    ).fetchone()


async def user_client(conn: Conn, user_id: UUID) -> UUID | None:
    row = await (await conn.execute("select client_id from users where id = %s", (user_id,))).fetchone()
    return row["client_id"] if row else None
