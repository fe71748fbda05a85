"""SQL for posts and their comments. Runs in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

# A campaign "runs" (revos.campaigns.service.is_running) — the same test, in SQL.
_RUNNING = (
    "c.status = 'active' and c.archived_at is null and (c.starts_at is null or c.starts_at <= %(now)s)"
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


@dataclass(frozen=True)
class Lease:
    """A dispatcher's claim on due posts: the column holding its lease, the posts it may take (a condition
    on `p`, the post, and `c`, its campaign, with `%(now)s` and the claim's own parameters), their order."""

    column: str
    join: str
    due: str
    order_by: str


PUBLISH_LEASE = Lease(
    column="publish_claimed_until",
    join="join campaigns c on c.id = p.campaign_id",
    # Scheduled posts of running campaigns whose time has come.
    due=f"p.status = 'scheduled' and p.scheduled_for <= %(now)s and {_RUNNING}",
    order_by="p.scheduled_for",
)
POLL_LEASE = Lease(
    column="poll_claimed_until",
    join="left join campaigns c on c.id = p.campaign_id",
    # Published posts (of running campaigns, or of none) due for a comment poll, not too old.
    due="p.status = 'published' and p.poll_next_at <= %(now)s"
    " and coalesce(p.published_at, p.created_at) >= %(after)s"
    f" and (p.campaign_id is null or ({_RUNNING}))",
    order_by="p.poll_next_at",
)


async def claim_due(
    conn: Conn, lease: Lease, *, now: datetime, lease_until: datetime, limit: int, **params: Any
) -> list[UUID]:
    """Lease up to `limit` due posts to this dispatcher (others skip them until `lease_until`)."""
    rows = await (
        await conn.execute(
            f"update posts set {lease.column} = %(lease)s where id in ("
            f" select p.id from posts p {lease.join}"
            f" where {lease.due}"
            f" and (p.{lease.column} is null or p.{lease.column} <= %(now)s)"
            f" order by {lease.order_by} limit %(limit)s for update of p skip locked)"
            " returning id",
            {"now": now, "lease": lease_until, "limit": limit, **params},
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


async def mark_comment_dm_sent(conn: Conn, comment_id: UUID | None, at: datetime) -> None:
    if comment_id is not None:
        await conn.execute(
            "update comments set dm_sent = true, dm_sent_at = coalesce(dm_sent_at, %s) where id = %s"
            " and (dm_sent is not true or dm_sent_at is null)",  # once: a repeat writes nothing
            (at, comment_id),
        )
