"""SQL of campaign skills and their execution log. Runs in the caller's transaction (a request under RLS,
or the scheduler as the service role); reads of other domains' rows (posts) are read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

SKILLS_TABLE = "campaign_skills"
EXECUTIONS_TABLE = "skill_executions"


async def get_skill(
    conn: Conn, campaign_id: UUID, name: str, *, for_update: bool = False
) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(
            f"select * from campaign_skills where campaign_id = %s and skill_name = %s{lock}",
            (campaign_id, name),
        )
    ).fetchone()


async def skills_of(conn: Conn, campaign_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute("select * from campaign_skills where campaign_id = %s", (campaign_id,))
    ).fetchall()


async def upsert_skill(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    """Insert the skill's configuration, or replace the one the campaign has."""
    row = await (
        await conn.execute(
            "insert into campaign_skills (client_id, campaign_id, skill_name, execution_mode, schedule, config,"
            " enabled) values (%(client_id)s, %(campaign_id)s, %(skill_name)s, %(execution_mode)s, %(schedule)s,"
            " %(config)s, %(enabled)s)"
            " on conflict (campaign_id, skill_name) do update set execution_mode = excluded.execution_mode,"
            " schedule = excluded.schedule, config = excluded.config, enabled = excluded.enabled"
            " returning *",
            {**values, "config": Jsonb(values["config"])},
        )
    ).fetchone()
    assert row is not None
    return row


async def delete_skill(conn: Conn, campaign_id: UUID, name: str) -> bool:
    cur = await conn.execute(
        "delete from campaign_skills where campaign_id = %s and skill_name = %s", (campaign_id, name)
    )
    return cur.rowcount > 0


async def set_schedule(conn: Conn, skill_id: UUID, when: datetime | None) -> None:
    await conn.execute("update campaign_skills set schedule = %s where id = %s", (when, skill_id))


async def claim_due(conn: Conn, now: datetime) -> dict[str, Any] | None:
    """The scheduled skill due first, locked for this transaction; skills another worker holds are
    skipped (service role: every client's)."""
    return await (
        await conn.execute(
            "select * from campaign_skills where execution_mode = 'scheduled' and enabled"
            " and schedule is not null and schedule <= %s"
            " and not exists (select 1 from campaigns c where c.id = campaign_skills.campaign_id"
            " and c.archived_at is not null)"
            " order by schedule, id limit 1 for update skip locked",
            (now,),
        )
    ).fetchone()


async def insert_execution(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, EXECUTIONS_TABLE, values)


async def get_execution(conn: Conn, execution_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from skill_executions where id = %s{lock}", (execution_id,))
    ).fetchone()


async def update_execution(conn: Conn, execution_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, EXECUTIONS_TABLE, execution_id, values)


async def page_executions(
    conn: Conn,
    *,
    campaign_id: UUID,
    skill: str | None,
    success: bool | None,
    review_status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(
        conn,
        EXECUTIONS_TABLE,
        cursor=cursor,
        limit=limit,
        where=[
            ("campaign_id", campaign_id),
            ("skill_name", skill),
            ("success", success),
            ("review_status", review_status),
        ],
    )


async def newest_post(conn: Conn, campaign_id: UUID, *, editable: bool) -> dict[str, Any] | None:
    """The campaign's newest post (only a draft or scheduled one when `editable`)."""
    only = " and status in ('draft', 'scheduled')" if editable else ""
    return await (
        await conn.execute(
            f"select * from posts where campaign_id = %s{only} order by created_at desc, id desc limit 1",
            (campaign_id,),
        )
    ).fetchone()


async def user_of_account(conn: Conn, account_id: UUID, client_id: UUID) -> UUID | None:
    row = await (
        await conn.execute(
            "select user_id from linkedin_accounts where id = %s and client_id = %s", (account_id, client_id)
        )
    ).fetchone()
    return row["user_id"] if row else None


async def user_in_client(conn: Conn, user_id: UUID, client_id: UUID) -> bool:
    row = await (
        await conn.execute("select 1 from users where id = %s and client_id = %s", (user_id, client_id))
    ).fetchone()
    return row is not None
