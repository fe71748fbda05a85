"""The demo's funnel, read from the database: comments → leads → DMs → replies → emails → webhooks → clicks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from revos.db.pool import Conn

FUNNEL_SQL = """
select
  (select count(*) from comments where post_id = %(post)s) as comments,
  (select count(*) from leads where campaign_id = %(campaign)s) as leads,
  (select count(*) from dm_sequences where campaign_id = %(campaign)s and step1_sent_at is not null) as dms,
  (select count(distinct m.dm_sequence_id) from dm_messages m join dm_sequences s on s.id = m.dm_sequence_id
    where s.campaign_id = %(campaign)s and m.direction = 'inbound') as replies,
  (select count(*) from leads where campaign_id = %(campaign)s and email is not null) as emails,
  (select count(distinct d.lead_id) from webhook_deliveries d join leads l on l.id = d.lead_id
    where l.campaign_id = %(campaign)s and d.status = 'success') as webhooks,
  (select count(*) from dm_sequences where campaign_id = %(campaign)s and link_clicked) as clicks
"""

PROGRESS_SQL = """
select
  count(*) as leads,
  count(*) filter (where s.status in ('completed', 'abandoned', 'failed')) as terminal,
  count(*) filter (where s.step3_sent_at is not null) as backups,
  count(*) filter (where s.review_status = 'pending') as in_review
from leads l left join dm_sequences s on s.lead_id = l.id
where l.campaign_id = %(campaign)s
"""


@dataclass(frozen=True)
class Progress:
    leads: int
    terminal: int
    backups: int
    in_review: int


async def funnel(conn: Conn, *, campaign_id: UUID, post_id: UUID) -> dict[str, int]:
    row: dict[str, Any] | None = await (
        await conn.execute(FUNNEL_SQL, {"campaign": campaign_id, "post": post_id})
    ).fetchone()
    assert row is not None
    return {key: int(value) for key, value in row.items()}


async def progress(conn: Conn, *, campaign_id: UUID) -> Progress:
    row: dict[str, Any] | None = await (
        await conn.execute(PROGRESS_SQL, {"campaign": campaign_id})
    ).fetchone()
    assert row is not None
    return Progress(int(row["leads"]), int(row["terminal"]), int(row["backups"]), int(row["in_review"]))


STUCK_SQL = """
select l.status, s.stage, s.status as sequence_status, e.kind, e.reason, count(*) as n
from leads l
left join dm_sequences s on s.lead_id = l.id
left join lateral (
  select kind, reason from lead_events where lead_id = l.id order by occurred_at desc, created_at desc limit 1
) e on true
where l.campaign_id = %(campaign)s and coalesce(s.status, 'in_progress') = 'in_progress'
group by 1, 2, 3, 4, 5 order by n desc
"""


async def stuck(conn: Conn, *, campaign_id: UUID) -> list[str]:
    """Leads not yet terminal, grouped by where they are and the last thing that happened to them."""
    rows = await (await conn.execute(STUCK_SQL, {"campaign": campaign_id})).fetchall()
    return [
        f"{r['n']} x lead {r['status']}, stage {r['stage']}: last event {r['kind']} ({r['reason']})"
        for r in rows
    ]


JOBS_SQL = """
select j.task_name, j.status::text, count(*) as n, min(j.scheduled_at) as first_at,
  avg(extract(epoch from (select max(at) from procrastinate.procrastinate_events e where e.job_id = j.id
    and e.type in ('succeeded', 'failed')) - (select max(at) from procrastinate.procrastinate_events e
    where e.job_id = j.id and e.type = 'started'))) as secs
from procrastinate.procrastinate_jobs j group by 1, 2 order by 1, 2
"""


async def queue_state(conn: Conn) -> list[str]:
    rows = await (await conn.execute(JOBS_SQL)).fetchall()
    return [
        f"{r['task_name']} {r['status']}: {r['n']} (first scheduled {r['first_at']}, avg run {r['secs']})"
        for r in rows
    ]
