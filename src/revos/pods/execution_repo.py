"""SQL of the pod executor, the comment drafter and the participation score (beside revos.pods.repo, which
holds the pods' CRUD and scheduling SQL, and revos.pods.manual_repo, manual pods' verification). Runs in
the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db.pool import Conn
from revos.pods.planning import LEDGER_KIND

# --- claiming -------------------------------------------------------------------------------------------

# An activity's ledger key in SQL, as `revos.pods.activity.ledger_key` makes it (member `m`, pod post `pp`,
# activity `a`; `%(kinds)s`: `planning.LEDGER_KIND` as jsonb).
_LEDGER_KEY = "'pod:' || m.linkedin_account_id || ':' || pp.social_id || ':' || (%(kinds)s::jsonb ->> a.engagement_type)"


async def lapse(conn: Conn, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Pending activities of auto-engaging pods whose window closed before anything was started for them:
    skipped (missed). Those with a ledger action (linked, or under their ledger key: a round links them
    when it settles them) or leased are left to the executor, which settles them without resending;
    manual pods' are settled by their last verification (revos.pods.manual)."""
    return await (
        await conn.execute(
            f"""
            with due as (
              select a.id from pod_activities a
              where a.status = 'pending' and a.scheduled_for <= %(now)s and a.window_ends_at <= %(now)s
                and a.linkedin_action_id is null
                and (a.claimed_until is null or a.claimed_until <= %(now)s)  -- leased: may be starting its action
                and exists (select 1 from pods p where p.id = a.pod_id and p.auto_engage)
                and not exists (select 1 from pod_members m join pod_posts pp on pp.id = a.pod_post_id
                  join linkedin_actions x on x.action_key = {_LEDGER_KEY} where m.id = a.member_id)
                and not exists (select 1 from posts po join campaigns c on c.id = po.campaign_id
                                where po.id = a.post_id and c.archived_at is not null)
              order by a.scheduled_for limit %(limit)s for update skip locked
            )
            -- Missed (held against the member's participation) when the member held it up: a comment
            -- left unapproved, or their account unable to act (the reason is in error_message). An
            -- activity revOS itself never reached in time (a late executor) is skipped, not missed.
            update pod_activities a set status = 'skipped', claimed_until = null,
              missed = (coalesce(a.approval = 'pending', false) or a.error_message is not null),
              error_message = case
                when a.approval = 'pending' then 'the comment was not approved before its window closed'
                else coalesce('the window closed first: ' || a.error_message, 'the window closed first')
              end
            from due where a.id = due.id
            returning a.id, a.member_id, a.pod_id
            """,
            {"now": now, "limit": limit, "kinds": Jsonb(LEDGER_KIND)},
        )
    ).fetchall()


_CONTEXT = """
    m.status as member_status, m.linkedin_account_id as account_id, pp.social_id, pp.post_text,
    p.status as pod_status, p.settings as pod_settings
"""


async def claim(conn: Conn, now: datetime, limit: int, in_flight_since: datetime) -> list[dict[str, Any]]:
    """Due activities of auto-engaging pods, oldest first, locked for this transaction (`for update skip
    locked` on the partial index of pending `scheduled_for`), with what performing them needs (as
    `execution_context`): comments awaiting approval are not due, nor is an activity whose action another
    round started after `in_flight_since` and has not answered for yet (in flight under its ledger key: a
    round's lease; one older is a crashed round's, reconciled by whoever takes the activity next). The
    caller leases those it performs one by one (`lease`) in the same transaction.

    The plan is pinned to walking that index in order and stopping at `limit`: the statistics seldom know
    how many activities fell due since they were gathered (new ones lie past the histogram's end), and on
    an estimate of a few rows the planner joins and sorts every due activity to keep the first `limit`
    (130 ms a tick with a backlog of 28,000, growing with it; 5 ms walking the index)."""
    before = await (
        await conn.execute(
            "select current_setting('enable_sort') as sort, current_setting('enable_bitmapscan') as bitmap,"
            " set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)"
        )
    ).fetchone()
    assert before is not None
    rows = await (
        await conn.execute(
            f"""
            select a.*, {_CONTEXT}
            from pod_activities a
            join pod_members m on m.id = a.member_id
            join pods p on p.id = a.pod_id
            left join pod_posts pp on pp.id = a.pod_post_id
            where a.status = 'pending' and a.scheduled_for <= %(now)s
              and (a.claimed_until is null or a.claimed_until <= %(now)s)
              and (a.approval is null or a.approval = 'approved')
              and p.auto_engage
              and not exists (select 1 from posts po join campaigns c on c.id = po.campaign_id
                              where po.id = a.post_id and c.archived_at is not null)
              and not exists (select 1 from linkedin_actions x where x.action_key = {_LEDGER_KEY}
                              and x.status = 'in_flight' and x.started_at > %(since)s)
            order by a.scheduled_for limit %(limit)s for update of a skip locked
            """,
            {"now": now, "limit": limit, "kinds": Jsonb(LEDGER_KIND), "since": in_flight_since},
        )
    ).fetchall()
    await conn.execute(
        "select set_config('enable_sort', %s, true), set_config('enable_bitmapscan', %s, true)",
        (before["sort"], before["bitmap"]),
    )
    return rows


async def lease(conn: Conn, activity_ids: list[UUID], until: datetime) -> None:
    """Lease claimed activities until `until`, in one statement."""
    if activity_ids:
        await conn.execute(
            "update pod_activities set claimed_until = %s where id = any(%s)", (until, activity_ids)
        )


async def link_many(conn: Conn, actions: dict[UUID, UUID]) -> None:
    """Link each activity of `actions` (activity id → ledger action id) to its action, unless linked."""
    if not actions:
        return
    await conn.execute(
        "update pod_activities a set linkedin_action_id = v.action_id"
        " from unnest(%s::uuid[], %s::uuid[]) as v(id, action_id)"
        " where a.id = v.id and a.id = any(%s) and a.linkedin_action_id is null",
        (list(actions), list(actions.values()), list(actions)),
    )


async def undrafted_due(conn: Conn, now: datetime, limit: int) -> list[UUID]:
    """Due comments of auto-engaging pods still without a text, not leased, soonest first: the executor
    drafts them before it claims (`idx_pod_activities_undrafted_due`)."""
    rows = await (
        await conn.execute(
            """
            select a.id from pod_activities a
            where a.status = 'pending' and a.engagement_type = 'comment' and a.comment_text is null
              and a.scheduled_for <= %(now)s and a.window_ends_at > %(now)s
              and (a.claimed_until is null or a.claimed_until <= %(now)s)
              and (a.approval is null or a.approval = 'approved')
              and exists (select 1 from pods p where p.id = a.pod_id and p.auto_engage)
            order by a.scheduled_for limit %(limit)s
            """,
            {"now": now, "limit": limit},
        )
    ).fetchall()
    return [r["id"] for r in rows]


async def shared_actions(conn: Conn, action_ids: list[UUID]) -> set[UUID]:
    """Those of `action_ids` linked to more than one pending activity (other pods' on the same post)."""
    rows = await (
        await conn.execute(
            "select linkedin_action_id as id from pod_activities where linkedin_action_id = any(%s)"
            " and status = 'pending' group by linkedin_action_id having count(*) > 1",
            (action_ids,),
        )
    ).fetchall()
    return {r["id"] for r in rows}


async def execution_context(conn: Conn, activity_id: UUID) -> dict[str, Any] | None:
    """What performing an activity needs: the member, their account, the post, the pod."""
    return await (
        await conn.execute(
            f"""
            select a.*, {_CONTEXT}
            from pod_activities a
            join pod_members m on m.id = a.member_id
            join pods p on p.id = a.pod_id
            left join pod_posts pp on pp.id = a.pod_post_id
            where a.id = %s
            """,
            (activity_id,),
        )
    ).fetchone()


async def lock(conn: Conn, activity_id: UUID) -> bool:
    """Lock the activity for the rest of the transaction (as an update would); True when it is pending."""
    row = await (
        await conn.execute(
            "select status from pod_activities where id = %s for no key update", (activity_id,)
        )
    ).fetchone()
    return row is not None and row["status"] == "pending"


async def set_action(conn: Conn, activity_id: UUID, action_id: UUID) -> bool:
    """Link the ledger action to the activity; False when the activity is no longer pending."""
    row = await (
        await conn.execute(
            "update pod_activities set linkedin_action_id = coalesce(linkedin_action_id, %s)"
            " where id = %s and status = 'pending' returning id",
            (action_id, activity_id),
        )
    ).fetchone()
    return row is not None


async def reschedule(conn: Conn, activity_id: UUID, at: datetime, note: str | None) -> None:
    await conn.execute(
        "update pod_activities set scheduled_for = %s, claimed_until = null, error_message = %s"
        " where id = %s and status = 'pending'",
        (at, note, activity_id),
    )


async def finish(
    conn: Conn, activity_id: UUID, *, status: str, error: str | None, missed: bool, now: datetime
) -> dict[str, Any] | None:
    """Settle a pending activity and count it on its member, in one statement. None when it was no longer
    pending; else the activity's id, member_id and pod_id, and the member's stored participation_score."""
    return await (
        await conn.execute(
            """
            with settled as (
              update pod_activities set status = %(status)s, error_message = %(error)s, missed = %(missed)s,
                executed_at = case when %(status)s = 'completed' then %(now)s end, claimed_until = null
              where id = %(id)s and status = 'pending' returning id, member_id, pod_id
            ), counted as (
              update pod_members m set total_engagements = coalesce(m.total_engagements, 0) + %(done)s,
                missed_engagements = coalesce(m.missed_engagements, 0) + %(missed_n)s
              from settled where m.id = settled.member_id
              returning m.participation_score
            )
            select settled.*, counted.participation_score from settled left join counted on true
            """,
            {
                "status": status,
                "error": error,
                "missed": missed,
                "now": now,
                "id": activity_id,
                "done": int(status == "completed"),
                "missed_n": int(missed),
            },
        )
    ).fetchone()


async def reschedule_many(
    conn: Conn, waits: list[tuple[UUID, datetime, str | None]], actions: dict[UUID, UUID] | None = None
) -> None:
    """`reschedule` for many activities (id, moment, note) in one statement, linking those of `actions`
    (activity id → ledger action id) not linked yet to their action."""
    if not waits:
        return
    ids = [w[0] for w in waits]
    links = [(actions or {}).get(i) for i in ids]
    await conn.execute(
        "update pod_activities a set scheduled_for = v.at, claimed_until = null, error_message = v.note,"
        " linkedin_action_id = coalesce(a.linkedin_action_id, v.action_id)"
        " from unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::uuid[]) as v(id, at, note, action_id)"
        " where a.id = v.id and a.id = any(%s) and a.status = 'pending'",
        (ids, [w[1] for w in waits], [w[2] for w in waits], links, ids),
    )


async def complete_many(
    conn: Conn, activity_ids: list[UUID], now: datetime, actions: dict[UUID, UUID] | None = None
) -> list[dict[str, Any]]:
    """`finish` as completed for many activities in one statement, each member counted once with all of
    theirs, linking those of `actions` (activity id → ledger action id) not linked yet to their action:
    the activities settled now (id, member_id, pod_id) with their member's participation_score."""
    if not activity_ids:
        return []
    return await (
        await conn.execute(
            """
            with settled as (
              update pod_activities a set status = 'completed', error_message = null, missed = false,
                executed_at = %(now)s, claimed_until = null,
                linkedin_action_id = coalesce(a.linkedin_action_id, v.action_id)
              from unnest(%(ids)s::uuid[], %(links)s::uuid[]) as v(id, action_id)
              where a.id = v.id and a.id = any(%(ids)s) and a.status = 'pending'
              returning a.id, a.member_id, a.pod_id
            ), per_member as (
              select member_id, count(*) as n from settled group by member_id
            ), counted as (
              update pod_members m set total_engagements = coalesce(m.total_engagements, 0) + per_member.n
              from per_member where m.id = per_member.member_id
              returning m.id, m.participation_score
            )
            select settled.*, counted.participation_score from settled left join counted
              on counted.id = settled.member_id
            """,
            {"now": now, "ids": activity_ids, "links": [(actions or {}).get(i) for i in activity_ids]},
        )
    ).fetchall()


# --- comments -------------------------------------------------------------------------------------------


async def comment_contexts(conn: Conn, activity_ids: list[UUID]) -> list[dict[str, Any]]:
    """What drafting the activities' comments needs, in one statement: the post's text, the member's and
    the author's names, and, for a campaign's post, the campaign's trigger words (`trigger_words`,
    `trigger_word`, `campaign_settings`; null otherwise)."""
    return await (
        await conn.execute(
            """
            select a.id, a.client_id, a.status, a.comment_text, a.pod_post_id, a.member_id, m.user_id,
                   pp.post_text, c.id as campaign_id, c.trigger_words, c.trigger_word,
                   c.settings as campaign_settings,
                   nullif(trim(coalesce(ma.profile_data ->> 'first_name', '') || ' '
                     || coalesce(ma.profile_data ->> 'last_name', '')), '') as member_name,
                   nullif(trim(coalesce(aa.profile_data ->> 'first_name', '') || ' '
                     || coalesce(aa.profile_data ->> 'last_name', '')), '') as author_name
            from pod_activities a
            join pod_members m on m.id = a.member_id
            join linkedin_accounts ma on ma.id = m.linkedin_account_id
            left join pod_posts pp on pp.id = a.pod_post_id
            left join pod_members am on am.id = pp.author_member_id
            left join linkedin_accounts aa on aa.id = am.linkedin_account_id
            left join posts po on po.id = coalesce(pp.post_id, a.post_id)
            left join campaigns c on c.id = po.campaign_id
            where a.id = any(%s)
            """,
            (activity_ids,),
        )
    ).fetchall()


async def lock_drafts(conn: Conn, activity_ids: list[UUID]) -> set[UUID]:
    """Lock the activities (in id order) for the rest of the transaction; those still pending without a
    text."""
    rows = await (
        await conn.execute(
            "select id, status, comment_text from pod_activities where id = any(%s)"
            " order by id for no key update",
            (activity_ids,),
        )
    ).fetchall()
    return {r["id"] for r in rows if r["status"] == "pending" and r["comment_text"] is None}


async def set_comment_texts(conn: Conn, texts: dict[UUID, str]) -> None:
    """Store drafted texts (activity id → text), each once, in one statement."""
    if not texts:
        return
    await conn.execute(
        "update pod_activities a set comment_text = v.text from unnest(%s::uuid[], %s::text[]) as v(id, text)"
        " where a.id = v.id and a.id = any(%s) and a.comment_text is null and a.status = 'pending'",
        (list(texts), list(texts.values()), list(texts)),
    )


async def post_triggers(conn: Conn, pod_post_id: UUID) -> dict[str, Any] | None:
    """The trigger words of the campaign whose post the pod post is, if it is one."""
    return await (
        await conn.execute(
            "select c.id as campaign_id, c.trigger_words, c.trigger_word, c.settings as campaign_settings"
            " from pod_posts pp join posts po on po.id = pp.post_id join campaigns c on c.id = po.campaign_id"
            " where pp.id = %s",
            (pod_post_id,),
        )
    ).fetchone()


async def drafts_wanted(conn: Conn, now: datetime, limit: int) -> list[UUID]:
    """Comments without a text that someone will read before their time: those awaiting approval and
    those of manual pods (a suggested comment), soonest first."""
    rows = await (
        await conn.execute(
            """
            -- Two look-ups, each on its own partial index: awaiting approval (any pod), and a manual pod's.
            select id from (
              (select a.id, a.scheduled_for from pod_activities a
               where a.status = 'pending' and a.approval = 'pending' and a.engagement_type = 'comment'
                 and a.comment_text is null and a.window_ends_at > %(now)s
               order by a.scheduled_for limit %(limit)s)
              union all
              (select a.id, a.scheduled_for from pods p join pod_activities a on a.pod_id = p.id
               where not p.auto_engage and a.status = 'pending' and a.engagement_type = 'comment'
                 and a.comment_text is null and a.window_ends_at > %(now)s
                 and a.approval is distinct from 'pending'
               order by a.scheduled_for limit %(limit)s)
            ) due order by scheduled_for limit %(limit)s
            """,
            {"now": now, "limit": limit},
        )
    ).fetchall()
    return [r["id"] for r in rows]


# --- participation --------------------------------------------------------------------------------------


async def rescore(conn: Conn, member_id: UUID, since: datetime) -> dict[str, Any] | None:
    """participation_score = completed / (completed + missed) over the activities whose window ended
    since `since` (1.00 with none); returns the member with `settled`, the count it is over."""
    return await (
        await conn.execute(
            """
            with recent as (
              select count(*) filter (where status = 'completed') as done,
                     count(*) filter (where missed) as missed
              from pod_activities where member_id = %(m)s and window_ends_at >= %(since)s
                and (status = 'completed' or missed)
            )
            update pod_members set participation_score =
              case when recent.done + recent.missed = 0 then 1.00
                   else round(recent.done::numeric / (recent.done + recent.missed), 2) end
            from recent where id = %(m)s
            returning pod_members.*, recent.done + recent.missed as settled
            """,
            {"m": member_id, "since": since},
        )
    ).fetchone()


async def pod_settings(conn: Conn, pod_id: UUID) -> dict[str, Any] | None:
    row = await (await conn.execute("select settings from pods where id = %s", (pod_id,))).fetchone()
    return row["settings"] if row else None


async def shares_action(conn: Conn, action_id: UUID, activity_id: UUID) -> bool:
    """Another pending activity (another pod of the same account, same post, same kind) is linked to this
    ledger action: it is theirs to perform or settle too."""
    row = await (
        await conn.execute(
            "select 1 from pod_activities where linkedin_action_id = %s and id <> %s and status = 'pending'"
            " limit 1",
            (action_id, activity_id),
        )
    ).fetchone()
    return row is not None
