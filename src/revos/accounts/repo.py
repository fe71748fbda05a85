"""SQL for linkedin_accounts. Credential columns are read only by `credentials_of`, never listed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

TABLE = "linkedin_accounts"
PUBLIC_COLUMNS = (
    "id, client_id, user_id, account_name, unipile_account_id, status, provider_status, checkpoint,"
    " profile_data, timezone, safety, paused_at, paused_until, pause_reason, pause_source,"
    " warmup_started_at, next_action_at, daily_dm_count, daily_post_count, last_sync_at,"
    " created_at, updated_at"
)


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


async def insert(conn: Conn, values: dict[str, Any]) -> None:
    await crud.insert(conn, TABLE, values, returning=False)


async def get(conn: Conn, account_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(
            f"select {PUBLIC_COLUMNS} from linkedin_accounts where id = %s{lock}", (account_id,)
        )
    ).fetchone()


async def page(conn: Conn, *, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(conn, TABLE, cursor=cursor, limit=limit, columns=PUBLIC_COLUMNS)


async def update(conn: Conn, account_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    if not values:
        return await get(conn, account_id)
    query = sql.SQL("update linkedin_accounts set {} where id = %s returning " + PUBLIC_COLUMNS).format(
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
    )
    return await (await conn.execute(query, [*(_adapt(v) for v in values.values()), account_id])).fetchone()


async def rename_if_named(conn: Conn, account_id: UUID, *, current: str, new: str) -> bool:
    """Rename the account only while it still has the name `current` (a person may have renamed it)."""
    cur = await conn.execute(
        "update linkedin_accounts set account_name = %s where id = %s and account_name = %s",
        (new, account_id, current),
    )
    return cur.rowcount > 0


async def credentials_of(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select id, client_id, linkedin_email, linkedin_password, unipile_session"
            " from linkedin_accounts where id = %s",
            (account_id,),
        )
    ).fetchone()


async def delete(conn: Conn, account_id: UUID) -> bool:
    return await crud.delete(conn, TABLE, account_id)


async def by_unipile_id(conn: Conn, unipile_account_id: str) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            f"select {PUBLIC_COLUMNS} from linkedin_accounts where unipile_account_id = %s",
            (unipile_account_id,),
        )
    ).fetchone()
