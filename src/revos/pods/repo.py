"""SQL of the pods domain: pods, pod_members, pod_posts, pod_activities. Runs in the caller's transaction.

Reads of other domains' rows (a published post, an account's time zone and budget use) are plain
selects; this module writes only the pods tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from revos.db import crud
from revos.db.pool import Conn

# --- pods -----------------------------------------------------------------------------------------------

_POD = (
    "select p.*, (select count(*) from pod_members m where m.pod_id = p.id and m.status = 'active')"
    " as active_members from pods p"
)


async def insert_pod(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    row = await crud.insert(conn, "pods", values)
    return {**row, "active_members": 0}


async def get_pod(conn: Conn, pod_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    if for_update:
        await conn.execute("select 1 from pods where id = %s for update", (pod_id,))
    return await (await conn.execute(f"{_POD} where p.id = %s", (pod_id,))).fetchone()


async def update_pod(conn: Conn, pod_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    await crud.update(conn, "pods", pod_id, values)
    return await get_pod(conn, pod_id)


async def delete_pod(conn: Conn, pod_id: UUID) -> bool:
    return await crud.delete(conn, "pods", pod_id)


async def page_pods(
    conn: Conn, *, cursor: str | None, limit: int, status: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    rows, next_cursor = await crud.page(conn, "pods", cursor=cursor, limit=limit, where=[("status", status)])
    counts = await active_member_counts(conn, [r["id"] for r in rows])
    return [{**r, "active_members": counts.get(r["id"], 0)} for r in rows], next_cursor


async def active_member_counts(conn: Conn, pod_ids: list[UUID]) -> dict[UUID, int]:
    rows = await (
        await conn.execute(
            "select pod_id, count(*) as n from pod_members where pod_id = any(%s) and status = 'active'"
            " group by pod_id",
            (pod_ids,),
        )
    ).fetchall()
    return {r["pod_id"]: int(r["n"]) for r in rows}


# --- members --------------------------------------------------------------------------------------------


async def insert_member(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, "pod_members", values)


async def get_member(conn: Conn, member_id: UUID) -> dict[str, Any] | None:
    return await crud.get(conn, "pod_members", member_id)


async def update_member(conn: Conn, member_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, "pod_members", member_id, values)


async def members(conn: Conn, pod_id: UUID, *, status: str | None = None) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select * from pod_members where pod_id = %s and (%s::text is null or status = %s)"
            " order by joined_at, id",
            (pod_id, status, status),
        )
    ).fetchall()


async def account(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select id, client_id, user_id, status, unipile_account_id, profile_data"
            " from linkedin_accounts where id = %s",
            (account_id,),
        )
    ).fetchone()


async def user(conn: Conn, user_id: UUID) -> dict[str, Any] | None:
    return await (await conn.execute("select id, client_id from users where id = %s", (user_id,))).fetchone()


async def members_posting_with(conn: Conn, client_id: UUID, account_id: UUID) -> list[dict[str, Any]]:
    """The active members (of active pods) whose LinkedIn account is `account_id`."""
    return await (
        await conn.execute(
            "select m.* from pod_members m join pods p on p.id = m.pod_id"
            " where m.client_id = %s and m.linkedin_account_id = %s and m.status = 'active'"
            " and p.status = 'active' order by m.joined_at",
            (client_id, account_id),
        )
    ).fetchall()


# --- scheduling -----------------------------------------------------------------------------------------


async def published_post(conn: Conn, post_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select id, client_id, linkedin_account_id, unipile_post_id, social_id, post_url, content,"
            " published_at, status from posts where id = %s",
            (post_id,),
        )
    ).fetchone()


async def insert_pod_post(conn: Conn, values: dict[str, Any]) -> dict[str, Any] | None:
    """The pod's post, or None when the pod already has this URL (scheduled once)."""
    return await (
        await conn.execute(
            "insert into pod_posts (client_id, pod_id, author_member_id, post_id, post_url, social_id,"
            " post_text, published_at, verify_next_at) values (%(client_id)s, %(pod_id)s,"
            " %(author_member_id)s, %(post_id)s, %(post_url)s, %(social_id)s, %(post_text)s,"
            " %(published_at)s, %(verify_next_at)s) on conflict (pod_id, post_url) do nothing returning *",
            values,
        )
    ).fetchone()


async def get_pod_post(conn: Conn, pod_post_id: UUID) -> dict[str, Any] | None:
    return await crud.get(conn, "pod_posts", pod_post_id)


async def candidates(
    conn: Conn, *, pod_id: UUID, author_member_id: UUID, recent_posts: int, now: datetime, since: datetime
) -> list[dict[str, Any]]:
    """The pod's other active members with what scheduling weighs: their account (time zone, safety,
    pause, status), how many of the author's `recent_posts` latest posts they engaged with, how many
    engagements they have since `since` (the last day), and their account's use of its local day."""
    return await (
        await conn.execute(
            """
            with recent as (
              select id from pod_posts where author_member_id = %(author)s
              order by published_at desc limit %(recent)s
            )
            select m.id as member_id, m.linkedin_account_id as account_id, a.timezone, a.safety,
                   a.status as account_status, a.paused_at, a.pause_reason, a.paused_until,
                   a.pause_source, a.warmup_started_at,
                   (select count(distinct x.pod_post_id) from pod_activities x
                     where x.member_id = m.id and x.pod_post_id in (select id from recent)
                       and x.status <> 'skipped') as with_author,
                   (select count(*) from pod_activities x
                     where x.member_id = m.id and x.scheduled_for >= %(since)s
                       and x.status in ('pending', 'completed')) as recent_count,
                   coalesce((select jsonb_object_agg(u.kind, u.used) from account_daily_usage u
                     where u.linkedin_account_id = a.id
                       and u.day = (%(now)s at time zone coalesce(a.timezone, 'UTC'))::date), '{}'::jsonb) as usage
            from pod_members m join linkedin_accounts a on a.id = m.linkedin_account_id
            where m.pod_id = %(pod)s and m.status = 'active' and m.id <> %(author)s
              and m.linkedin_account_id is distinct from
                  (select linkedin_account_id from pod_members where id = %(author)s)
            order by m.id
            """,
            {"pod": pod_id, "author": author_member_id, "recent": recent_posts, "since": since, "now": now},
        )
    ).fetchall()


async def engaged_elsewhere(
    conn: Conn,
    *,
    client_id: UUID,
    pod_id: UUID,
    social_id: str | None,
    post_url: str,
    account_ids: list[UUID],
) -> dict[UUID, set[str]]:
    """For each of `account_ids`, the engagement kinds other pods already planned or did on this post
    (the same LinkedIn post: its social_id, or its URL): the client's pod posts of that social_id or URL,
    their activities by pod post (an activity without a pod post, by its own URL)."""
    if not account_ids:
        return {}
    rows = await (
        await conn.execute(
            """
            select m.linkedin_account_id as account_id, x.engagement_type
            from pod_activities x join pod_members m on m.id = x.member_id
            where x.pod_post_id in (
                    select pp.id from pod_posts pp where pp.client_id = %(client)s and pp.social_id = %(social)s
                    union
                    select pp.id from pod_posts pp where pp.client_id = %(client)s and pp.post_url = %(url)s)
              and x.pod_id <> %(pod)s and x.status in ('pending', 'completed')
              and m.linkedin_account_id = any(%(accounts)s)
            union
            select m.linkedin_account_id, x.engagement_type
            from pod_activities x join pod_members m on m.id = x.member_id
            where x.client_id = %(client)s and x.pod_post_id is null and x.post_url = %(url)s
              and x.pod_id <> %(pod)s and x.status in ('pending', 'completed')
              and m.linkedin_account_id = any(%(accounts)s)
            """,
            {
                "client": client_id,
                "pod": pod_id,
                "accounts": account_ids,
                "social": social_id,
                "url": post_url,
            },
        )
    ).fetchall()
    found: dict[UUID, set[str]] = {}
    for row in rows:
        found.setdefault(row["account_id"], set()).add(row["engagement_type"])
    return found


_ACTIVITY_COLUMNS = (
    "client_id",
    "pod_id",
    "pod_post_id",
    "post_id",
    "post_url",
    "post_author_id",
    "engagement_type",
    "member_id",
    "scheduled_for",
    "window_ends_at",
    "status",
    "error_message",
    "approval",
)


async def insert_activities(conn: Conn, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    placeholders = ", ".join(f"%({c})s" for c in _ACTIVITY_COLUMNS)
    async with conn.cursor() as cur:
        await cur.executemany(
            f"insert into pod_activities ({', '.join(_ACTIVITY_COLUMNS)}) values ({placeholders})"
            " on conflict (pod_post_id, member_id, engagement_type) do nothing",
            rows,
        )
    return len(rows)


# --- activities -----------------------------------------------------------------------------------------


async def get_activity(conn: Conn, activity_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from pod_activities where id = %s{lock}", (activity_id,))
    ).fetchone()


async def update_activity(conn: Conn, activity_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, "pod_activities", activity_id, values)


async def page_activities(
    conn: Conn,
    pod_id: UUID,
    *,
    cursor: str | None,
    limit: int,
    status: str | None,
    member_id: UUID | None,
    pod_post_id: UUID | None,
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(
        conn,
        "pod_activities",
        cursor=cursor,
        limit=limit,
        where=[
            ("pod_id", pod_id),
            ("status", status),
            ("member_id", member_id),
            ("pod_post_id", pod_post_id),
        ],
    )


async def post_activities(conn: Conn, pod_post_id: UUID) -> list[dict[str, Any]]:
    return await (
        await conn.execute(
            "select * from pod_activities where pod_post_id = %s order by scheduled_for nulls last, id",
            (pod_post_id,),
        )
    ).fetchall()


async def other_comments(conn: Conn, pod_post_id: UUID, activity_id: UUID) -> list[str]:
    rows = await (
        await conn.execute(
            "select comment_text from pod_activities where pod_post_id = %s and id <> %s"
            " and engagement_type = 'comment' and comment_text is not null and status <> 'skipped'",
            (pod_post_id, activity_id),
        )
    ).fetchall()
    return [r["comment_text"] for r in rows]


async def comments_on(conn: Conn, pod_post_ids: list[UUID]) -> list[dict[str, Any]]:
    """The comments written for the posts (id, pod_post_id, comment_text), skipped ones aside."""
    return await (
        await conn.execute(
            "select id, pod_post_id, comment_text from pod_activities where pod_post_id = any(%s)"
            " and engagement_type = 'comment' and comment_text is not null and status <> 'skipped'",
            (pod_post_ids,),
        )
    ).fetchall()
