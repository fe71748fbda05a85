"""What the automatic memories are made of: read-only statistics over posts, comments, leads and DM
sequences (tables of other domains, only read here), across every client. Runs as the service role.

A post's figures count every comment stored for it and the leads made from those comments; a DM
template's, every sequence of the client's campaigns using that step-1 template whose first DM went out,
and those that got a reply. Medians are per client, over the posts (templates) with enough figures to
judge; rows already remembered (metadata.auto_source) are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from revos.db.pool import Conn

_SUCCESSFUL_POSTS = """
with judged as (
  select p.id, p.client_id, p.campaign_id, p.content, p.published_at,
         (select a.user_id from linkedin_accounts a where a.id = p.linkedin_account_id) as user_id,
         (select count(*) from comments c where c.post_id = p.id) as comments,
         (select count(*) from leads l join comments c on c.id = l.comment_id where c.post_id = p.id) as leads
  from posts p
  where p.status = 'published' and p.published_at <= %(settled)s
),
eligible as (
  select *, leads::float8 / comments as ratio from judged where comments >= %(min_comments)s
),
medians as (
  select client_id, percentile_cont(0.5) within group (order by ratio) as median, count(*) as judged
  from eligible group by client_id
)
select e.id, e.client_id, e.campaign_id, e.user_id, e.content, e.published_at, e.comments, e.leads, e.ratio, m.median
from eligible e join medians m using (client_id)
where m.judged >= %(min_posts)s and e.ratio > m.median
  and not exists (
    select from memories mm
    where mm.client_id = e.client_id and mm.metadata ? 'auto_source'
      and mm.metadata ->> 'auto_source' = 'post:' || e.id::text)
order by e.client_id, e.ratio desc, e.id
limit %(limit)s
"""

_CONVERTING_TEMPLATES = """
with judged as (
  select c.client_id, c.dm_template_step1 as template, md5(c.dm_template_step1) as template_md5,
         count(*) as sent, count(*) filter (where s.last_reply_at is not null) as replied,
         array_agg(distinct c.id order by c.id) as campaign_ids
  from dm_sequences s join campaigns c on c.id = s.campaign_id and c.client_id = s.client_id
  where s.step1_sent_at is not null and s.step1_sent_at <= %(settled)s
    and coalesce(btrim(c.dm_template_step1), '') <> ''
  group by c.client_id, c.dm_template_step1
),
eligible as (
  select *, replied::float8 / sent as rate from judged where sent >= %(min_sends)s
),
medians as (
  select client_id, percentile_cont(0.5) within group (order by rate) as median, count(*) as judged
  from eligible group by client_id
)
select e.client_id, e.template, e.template_md5, e.sent, e.replied, e.rate, e.campaign_ids, m.median
from eligible e join medians m using (client_id)
where m.judged >= %(min_templates)s and e.rate >= m.median + %(margin)s and e.rate > m.median
  and not exists (
    select from memories mm
    where mm.client_id = e.client_id and mm.metadata ? 'auto_source'
      and mm.metadata ->> 'auto_source' = 'dm_template:' || e.template_md5)
order by e.client_id, e.rate desc, e.template_md5
limit %(limit)s
"""


async def successful_posts(
    conn: Conn, *, settled: datetime, min_comments: int, min_posts: int, limit: int
) -> list[dict[str, Any]]:
    """Published posts (settled) whose leads per comment beat their client's median, not yet remembered."""
    params = {"settled": settled, "min_comments": min_comments, "min_posts": min_posts, "limit": limit}
    return await (await conn.execute(_SUCCESSFUL_POSTS, params)).fetchall()


async def converting_templates(
    conn: Conn, *, settled: datetime, min_sends: int, min_templates: int, margin: float, limit: int
) -> list[dict[str, Any]]:
    """Step-1 DM templates whose reply rate beats their client's median by `margin`, not yet remembered."""
    params = {
        "settled": settled,
        "min_sends": min_sends,
        "min_templates": min_templates,
        "margin": margin,
        "limit": limit,
    }
    return await (await conn.execute(_CONVERTING_TEMPLATES, params)).fetchall()
