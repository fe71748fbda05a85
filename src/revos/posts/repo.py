"""SQL for posts and their comments. Runs in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

# A campaign "runs" (revos.campaigns.service.is_running) — the same test, in SQL.
_RUNNING = (
    "c.status = 'active' and (c.starts_at is null or c.starts_at <= %(now)s)"
    " and (c.ends_at is null or c.ends_at > %(now)s)"
)


async def get(conn: Conn, post_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (await conn.execute(f"select * from posts where id = %s{lock}", (post_id,))).fetchone()


async def insert(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, "posts", values)


async def update(conn: Conn, post_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, "posts", post_id, values)


async def delete(conn: Conn, post_id: UUID) -> bool:
    return await crud.delete(conn, "posts", post_id)


async def page(
    conn: Conn,
    *,
    cursor: str | None,
    limit: int,
    campaign_id: UUID | None,
    status: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(
        conn, "posts", cursor=cursor, limit=limit, where=[("campaign_id", campaign_id), ("status", status)]
    )


async def account(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select id, client_id, account_name, unipile_account_id, profile_data, status"
            " from linkedin_accounts where id = %s",
            (account_id,),
        )
    ).fetchone()


async def claim_due_publish(conn: Conn, *, now: datetime, lease_until: datetime, limit: int) -> list[UUID]:
    """Scheduled posts of running campaigns whose time has come, leased to this dispatcher."""
    rows = await (
        await conn.execute(
            "update posts set publish_claimed_until = %(lease)s where id in ("
            " select p.id from posts p join campaigns c on c.id = p.campaign_id"
            " where p.status = 'scheduled' and p.scheduled_for <= %(now)s"
            " and (p.publish_claimed_until is null or p.publish_claimed_until <= %(now)s)"
            f" and {_RUNNING}"
            " order by p.scheduled_for limit %(limit)s for update of p skip locked)"
            " returning id",
            {"now": now, "lease": lease_until, "limit": limit},
        )
    ).fetchall()
    return [r["id"] for r in rows]


async def claim_due_polls(
    conn: Conn, *, now: datetime, lease_until: datetime, limit: int, published_after: datetime
) -> list[UUID]:
    """Published posts (of running campaigns, or of none) due for a comment poll, leased."""
    rows = await (
        await conn.execute(
            "update posts set poll_claimed_until = %(lease)s where id in ("
            " select p.id from posts p left join campaigns c on c.id = p.campaign_id"
            " where p.status = 'published' and p.poll_next_at <= %(now)s"
            " and (p.poll_claimed_until is null or p.poll_claimed_until <= %(now)s)"
            " and coalesce(p.published_at, p.created_at) >= %(after)s"
            f" and (p.campaign_id is null or ({_RUNNING}))"
            " order by p.poll_next_at limit %(limit)s for update of p skip locked)"
            " returning id",
            {"now": now, "lease": lease_until, "limit": limit, "after": published_after},
        )
    ).fetchall()
    return [r["id"] for r in rows]


COMMENT_COLUMNS = (
    "client_id",
    "post_id",
    "unipile_comment_id",
    "parent_unipile_comment_id",
    "author_name",
    "author_linkedin_id",
    "author_profile_url",
    "author_network_distance",
    "content",
    "has_trigger_word",
    "commented_at",
)


async def insert_comments(conn: Conn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert the comments not stored yet (dedupe on unipile_comment_id); returns only the new rows."""
    if not rows:
        return []
    cols = ", ".join(COMMENT_COLUMNS)
    placeholders = ", ".join(["%s"] * len(COMMENT_COLUMNS))
    values = ", ".join([f"({placeholders})"] * len(rows))
    params = [row.get(col) for row in rows for col in COMMENT_COLUMNS]
    return await (
        await conn.execute(
            f"insert into comments ({cols}) values {values}"
            " on conflict (unipile_comment_id) do nothing returning *",
            params,
        )
    ).fetchall()


async def set_trigger(conn: Conn, comment_id: UUID, value: bool) -> None:
    await conn.execute("update comments set has_trigger_word = %s where id = %s", (value, comment_id))


async def known_comment_ids(conn: Conn, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = await (
        await conn.execute(
            "select unipile_comment_id from comments where unipile_comment_id = any(%s)", (ids,)
        )
    ).fetchall()
    return {r["unipile_comment_id"] for r in rows}


async def reply_counts(conn: Conn, post_id: UUID, parent_ids: list[str]) -> dict[str, int]:
    if not parent_ids:
        return {}
    rows = await (
        await conn.execute(
            "select parent_unipile_comment_id as parent, count(*) as n from comments"
            " where post_id = %s and parent_unipile_comment_id = any(%s) group by 1",
            (post_id, parent_ids),
        )
    ).fetchall()
    return {r["parent"]: int(r["n"]) for r in rows}


async def count_comments(conn: Conn, post_id: UUID) -> int:
    row = await (
        await conn.execute("select count(*) as n from comments where post_id = %s", (post_id,))
    ).fetchone()
    return int(row["n"]) if row else 0


async def comments_page(
    conn: Conn, post_id: UUID, *, cursor: str | None, limit: int, trigger_only: bool
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(
        conn,
        "comments",
        cursor=cursor,
        limit=limit,
        where=[("post_id", post_id)],
        conditions=[("has_trigger_word", True if trigger_only else None)],
    )


def jsonb(value: dict[str, Any]) -> Jsonb:
    return Jsonb(value)
