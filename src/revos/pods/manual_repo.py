"""SQL of manual pods' verification (revos.pods.manual): members' open tasks, the posts due for a look and
what the look records. Runs in the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.db.pool import Conn


async def manual_tasks(conn: Conn, member_id: UUID, now: datetime) -> list[dict[str, Any]]:
    """The member's open activities in manual pods, soonest first."""
    return await (
        await conn.execute(
            """
            select a.id, a.engagement_type, a.post_url, a.comment_text, a.scheduled_for, a.window_ends_at,
                   pp.social_id
            from pod_activities a join pods p on p.id = a.pod_id
            left join pod_posts pp on pp.id = a.pod_post_id
            where a.member_id = %s and a.status = 'pending' and not p.auto_engage and a.window_ends_at > %s
            order by a.scheduled_for, a.id
            """,
            (member_id, now),
        )
    ).fetchall()


async def claim_verification(conn: Conn, now: datetime, limit: int, lease: timedelta) -> list[UUID]:
    rows = await (
        await conn.execute(
            """
            with due as (
              select id from pod_posts where verify_next_at <= %(now)s
              order by verify_next_at limit %(limit)s for update skip locked
            )
            update pod_posts pp set verify_next_at = %(until)s from due where pp.id = due.id
            returning pp.id
            """,
            {"now": now, "limit": limit, "until": now + lease},
        )
    ).fetchall()
    return [r["id"] for r in rows]


async def verification_context(conn: Conn, pod_post_id: UUID) -> dict[str, Any] | None:
    """The post, the account that reads it (its author's), and its pending activities with each
    member's LinkedIn id."""
    post = await (
        await conn.execute(
            "select pp.*, a.unipile_account_id as reader, p.settings as pod_settings from pod_posts pp"
            " join pod_members m on m.id = pp.author_member_id"
            " join linkedin_accounts a on a.id = m.linkedin_account_id"
            " join pods p on p.id = pp.pod_id where pp.id = %s",
            (pod_post_id,),
        )
    ).fetchone()
    if post is None:
        return None
    post["pending"] = await (
        await conn.execute(
            "select x.id, x.engagement_type, x.window_ends_at, x.member_id,"
            " a.profile_data ->> 'provider_id' as provider_id from pod_activities x"
            " join pod_members m on m.id = x.member_id"
            " join linkedin_accounts a on a.id = m.linkedin_account_id"
            " where x.pod_post_id = %s and x.status = 'pending'",
            (pod_post_id,),
        )
    ).fetchall()
    return post


async def mark_verified(conn: Conn, activity_id: UUID, comment_text: str | None) -> None:
    await conn.execute(
        "update pod_activities set verified = true, comment_text = coalesce(%s, comment_text)"
        " where id = %s and status = 'pending'",
        (comment_text, activity_id),
    )


async def next_verification(conn: Conn, pod_post_id: UUID, at: datetime | None) -> None:
    await conn.execute("update pod_posts set verify_next_at = %s where id = %s", (at, pod_post_id))
