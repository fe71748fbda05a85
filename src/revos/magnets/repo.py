"""SQL for lead magnets. Runs in the caller's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.db import crud
from revos.db.pool import Conn


async def insert(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, "lead_magnets", values)


async def get(conn: Conn, magnet_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from lead_magnets where id = %s{lock}", (magnet_id,))
    ).fetchone()


async def update(conn: Conn, magnet_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, "lead_magnets", magnet_id, values)


async def delete(conn: Conn, magnet_id: UUID) -> bool:
    return await crud.delete(conn, "lead_magnets", magnet_id)


async def used_by(conn: Conn, magnet_id: UUID) -> list[str]:
    rows = await (
        await conn.execute("select name from campaigns where lead_magnet_id = %s order by name", (magnet_id,))
    ).fetchall()
    return [r["name"] for r in rows]


async def page(
    conn: Conn, *, cursor: str | None, limit: int, tag: str | None, client_id: UUID | None
) -> tuple[list[dict[str, Any]], str | None]:
    # Case-insensitive tag match; still served by the GIN index on tags for the exact spelling.
    tag_matches = "exists (select 1 from unnest(tags) t where lower(t) = lower(%s))"
    return await crud.page(
        conn,
        "lead_magnets",
        cursor=cursor,
        limit=limit,
        where=[("client_id", client_id)],
        conditions=[(tag_matches, tag)],
    )


async def count_download(conn: Conn, magnet_id: UUID) -> int | None:
    row = await (
        await conn.execute(
            "update lead_magnets set download_count = coalesce(download_count, 0) + 1 where id = %s"
            " returning download_count",
            (magnet_id,),
        )
    ).fetchone()
    return row["download_count"] if row else None
