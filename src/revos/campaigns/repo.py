"""SQL for campaigns. Runs in the caller's transaction (a request under RLS, or a job as the service role)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn


async def get(conn: Conn, campaign_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from campaigns where id = %s{lock}", (campaign_id,))
    ).fetchone()


async def insert(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, "campaigns", values)


async def update(conn: Conn, campaign_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    if values.get("status") not in (None, "completed"):
        values = {**values, "archived_at": None}  # running again: back in the dispatchers' scans
    return await crud.update(conn, "campaigns", campaign_id, values)


async def delete(conn: Conn, campaign_id: UUID) -> bool:
    return await crud.delete(conn, "campaigns", campaign_id)


async def name_taken(conn: Conn, client_id: UUID, name: str, *, other_than: UUID | None = None) -> bool:
    row = await (
        await conn.execute(
            "select 1 from campaigns where client_id = %s and name = %s and id is distinct from %s",
            (client_id, name, other_than),
        )
    ).fetchone()
    return row is not None


async def page(
    conn: Conn, *, cursor: str | None, limit: int, status: str | None, client_id: UUID | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(
        conn, "campaigns", cursor=cursor, limit=limit, where=[("status", status), ("client_id", client_id)]
    )


async def lead_magnet_client(conn: Conn, lead_magnet_id: UUID) -> UUID | None:
    row = await (
        await conn.execute("select client_id from lead_magnets where id = %s", (lead_magnet_id,))
    ).fetchone()
    return row["client_id"] if row else None


async def lead_magnet(conn: Conn, lead_magnet_id: UUID) -> dict[str, Any] | None:
    return await crud.get(conn, "lead_magnets", lead_magnet_id)


async def webhook_config_client(conn: Conn, config_id: UUID) -> UUID | None:
    row = await (
        await conn.execute("select client_id from webhook_configs where id = %s", (config_id,))
    ).fetchone()
    return row["client_id"] if row else None


async def has_history(conn: Conn, campaign_id: UUID) -> bool:
    """A published post, a lead or a logged skill run: deleting the campaign would delete what it
    captured, or the record of what its AI runs cost."""
    row = await (
        await conn.execute(
            "select exists (select 1 from posts where campaign_id = %s and status = 'published')"
            " or exists (select 1 from leads where campaign_id = %s)"
            " or exists (select 1 from skill_executions where campaign_id = %s) as found",
            (campaign_id, campaign_id, campaign_id),
        )
    ).fetchone()
    return bool(row and row["found"])


async def complete_ended(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Active or paused campaigns whose ends_at has passed become completed (service role)."""
    return await (
        await conn.execute(
            "update campaigns set status = 'completed' where id in ("
            " select id from campaigns where status in ('active', 'paused') and ends_at is not null"
            " and ends_at <= %s order by ends_at limit %s for update skip locked)"
            " returning id, client_id, name",
            (now, limit),
        )
    ).fetchall()


async def archive_completed(conn: Conn, before: datetime, limit: int) -> list[dict[str, Any]]:
    """Campaigns completed (last changed) before `before` are archived: out of every dispatcher's scan,
    their rows and numbers kept (service role)."""
    return await (
        await conn.execute(
            "update campaigns set archived_at = now() where id in ("
            " select id from campaigns where status = 'completed' and archived_at is null"
            " and updated_at <= %s order by updated_at limit %s for update skip locked)"
            " returning id, client_id, name",
            (before, limit),
        )
    ).fetchall()


async def merge_metrics(conn: Conn, metrics: dict[UUID, dict[str, Any]]) -> int:
    """Merge each campaign's figures into its `metrics`; a campaign whose figures are unchanged is not
    written (no new version, no audit row). Returns how many campaigns changed."""
    if not metrics:
        return 0
    ids = list(metrics)
    docs = [Jsonb(metrics[i]) for i in ids]
    cur = await conn.execute(
        """
        update campaigns c set metrics = coalesce(c.metrics, '{}'::jsonb) || t.m
        from unnest(%s::uuid[], %s::jsonb[]) as t (id, m)
        where c.id = t.id and not coalesce(c.metrics, '{}'::jsonb) @> t.m
        """,
        (ids, docs),
    )
    return cur.rowcount
