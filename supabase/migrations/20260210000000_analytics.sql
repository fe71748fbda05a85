-- Analytics: materialized views of the funnel, posts, DM templates, account budgets and pod
-- participation, refreshed concurrently by the worker (analytics.refresh, every
-- REVOS_CRON_ANALYTICS_REFRESH), read by tenants through the views of `public` below.
--
-- A materialized view has no Row Level Security. The materialized views therefore live in their own
-- schema, `analytics`, which neither `anon` nor `authenticated` may even name; tenants read them
-- through `public.analytics_*` views that keep only the caller's clients (the same
-- revos_tenant_client_ids() every tenant policy uses: a client user's own client, every client of
-- the agency for its staff, nothing for anybody else). Those views run as their owner (no
-- security_invoker: the caller holds no privilege on `analytics`) and are security barriers, so no
-- function of the caller's query sees a row before the client filter has run.
--
-- Days are UTC days, except the account views', which are the account's own local days, like the
-- daily caps they are compared with. The SQL reads only columns present whether the large
-- append-only tables are plain or partitioned.

create schema if not exists analytics;
revoke all on schema analytics from public;
grant usage on schema analytics to service_role;

-- The campaign funnel per day: comments on its posts -> leads -> first DMs -> first replies ->
-- emails captured -> leads delivered to a webhook -> download links opened. Each stage counts
-- on the day it happened.
create materialized view analytics.campaign_funnel_daily as
with facts as (
  select p.client_id, p.campaign_id, coalesce(c.commented_at, c.created_at) as at, 1 as stage
  from public.comments c join public.posts p on p.id = c.post_id
  where p.campaign_id is not null
  union all
  select l.client_id, l.campaign_id, l.created_at, 2
  from public.leads l where l.campaign_id is not null
  union all
  select s.client_id, s.campaign_id, s.step1_sent_at, 3
  from public.dm_sequences s where s.step1_sent_at is not null and s.campaign_id is not null
  union all
  select s.client_id, s.campaign_id, r.first_at, 4
  from (
    select m.dm_sequence_id, min(coalesce(m.sent_at, m.created_at)) as first_at
    from public.dm_messages m where m.direction = 'inbound' group by m.dm_sequence_id
  ) r join public.dm_sequences s on s.id = r.dm_sequence_id
  where s.campaign_id is not null
  union all
  select s.client_id, s.campaign_id, s.email_extracted_at, 5
  from public.dm_sequences s
  where s.email_extracted_at is not null and s.email_extracted is not null and s.campaign_id is not null
  union all
  select l.client_id, l.campaign_id, w.first_at, 6
  from (
    select d.lead_id, min(coalesce(d.delivered_at, d.last_attempt_at, d.created_at)) as first_at
    from public.webhook_deliveries d where d.status = 'success' and d.lead_id is not null
    group by d.lead_id
  ) w join public.leads l on l.id = w.lead_id
  where l.campaign_id is not null
  union all
  select s.client_id, s.campaign_id, s.link_clicked_at, 7
  from public.dm_sequences s
  where s.link_clicked and s.link_clicked_at is not null and s.campaign_id is not null
)
select
  client_id,
  campaign_id,
  (at at time zone 'UTC')::date as day,
  count(*) filter (where stage = 1) as comments,
  count(*) filter (where stage = 2) as leads,
  count(*) filter (where stage = 3) as dms,
  count(*) filter (where stage = 4) as replies,
  count(*) filter (where stage = 5) as emails,
  count(*) filter (where stage = 6) as webhooks,
  count(*) filter (where stage = 7) as clicks
from facts
where at is not null
group by client_id, campaign_id, (at at time zone 'UTC')::date;

create unique index analytics_campaign_funnel_daily_key on analytics.campaign_funnel_daily (campaign_id, day);
create index analytics_campaign_funnel_daily_client on analytics.campaign_funnel_daily (client_id, day);

-- Post performance per day: comments (and those with the trigger word) on the day they were written,
-- leads made from its comments and their first DMs on the day each happened.
create materialized view analytics.post_daily as
with facts as (
  select c.client_id, c.post_id, coalesce(c.commented_at, c.created_at) as at,
         1 as comments, case when c.has_trigger_word then 1 else 0 end as trigger_comments,
         0 as leads, 0 as dms
  from public.comments c
  union all
  select l.client_id, c.post_id, l.created_at, 0, 0, 1, 0
  from public.leads l join public.comments c on c.id = l.comment_id
  union all
  select s.client_id, c.post_id, s.step1_sent_at, 0, 0, 0, 1
  from public.dm_sequences s
  join public.leads l on l.id = s.lead_id
  join public.comments c on c.id = l.comment_id
  where s.step1_sent_at is not null
)
select
  f.client_id,
  p.campaign_id,
  f.post_id,
  (f.at at time zone 'UTC')::date as day,
  sum(f.comments)::bigint as comments,
  sum(f.trigger_comments)::bigint as trigger_comments,
  sum(f.leads)::bigint as leads,
  sum(f.dms)::bigint as dms
from facts f join public.posts p on p.id = f.post_id
where f.at is not null
group by f.client_id, p.campaign_id, f.post_id, (f.at at time zone 'UTC')::date;

create unique index analytics_post_daily_key on analytics.post_daily (post_id, day);
create index analytics_post_daily_client on analytics.post_daily (client_id, day);

-- DM reply rates per campaign, step and template, on the day the step went out. The template is the
-- campaign's template of that step (md5 of its text; '' = revOS's default text). A step counts as
-- replied when the lead's last reply came after it; step 3 (the download link) also counts clicks.
create materialized view analytics.dm_template_daily as
select
  s.client_id,
  s.campaign_id,
  st.step,
  md5(coalesce(btrim(st.template), '')) as template_md5,
  (st.sent_at at time zone 'UTC')::date as day,
  count(*) as sent,
  count(*) filter (where s.last_reply_at >= st.sent_at) as replied,
  count(*) filter (where st.step = 3 and s.link_clicked) as clicked
from public.dm_sequences s
join public.campaigns c on c.id = s.campaign_id
cross join lateral (
  values (1, s.step1_sent_at, c.dm_template_step1),
         (2, s.step2_sent_at, c.dm_template_step2),
         (3, s.step3_sent_at, c.dm_template_step3)
) as st (step, sent_at, template)
where st.sent_at is not null
group by s.client_id, s.campaign_id, st.step, md5(coalesce(btrim(st.template), '')),
         (st.sent_at at time zone 'UTC')::date;

create unique index analytics_dm_template_daily_key
  on analytics.dm_template_daily (campaign_id, step, template_md5, day);
create index analytics_dm_template_daily_client on analytics.dm_template_daily (client_id, day);

-- Account budget use per local day and kind: the counters the daily caps are checked against
-- (account_daily_usage.used) next to the ledger's outcomes of that day's actions.
create materialized view analytics.account_usage_daily as
with ledger as (
  select x.client_id, x.linkedin_account_id,
         (x.created_at at time zone coalesce(a.timezone, 'UTC'))::date as day, x.kind,
         count(*) filter (where x.status = 'done') as done,
         count(*) filter (where x.status = 'failed') as failed,
         count(*) filter (where x.status in ('intent', 'in_flight', 'ambiguous')) as unsettled
  from public.linkedin_actions x join public.linkedin_accounts a on a.id = x.linkedin_account_id
  group by 1, 2, 3, 4
)
select
  coalesce(u.client_id, l.client_id) as client_id,
  coalesce(u.linkedin_account_id, l.linkedin_account_id) as linkedin_account_id,
  coalesce(u.day, l.day) as day,
  coalesce(u.kind, l.kind) as kind,
  coalesce(u.used, 0)::bigint as used,
  coalesce(l.done, 0)::bigint as done,
  coalesce(l.failed, 0)::bigint as failed,
  coalesce(l.unsettled, 0)::bigint as unsettled
from public.account_daily_usage u
full join ledger l
  on l.linkedin_account_id = u.linkedin_account_id and l.day = u.day and l.kind = u.kind;

create unique index analytics_account_usage_daily_key
  on analytics.account_usage_daily (linkedin_account_id, day, kind);
create index analytics_account_usage_daily_client on analytics.account_usage_daily (client_id, day);

-- Pod participation per member and day (the day the engagement was scheduled for).
create materialized view analytics.pod_member_daily as
select
  pa.client_id,
  pa.pod_id,
  pa.member_id,
  (coalesce(pa.scheduled_for, pa.created_at) at time zone 'UTC')::date as day,
  count(*) as scheduled,
  count(*) filter (where pa.status = 'completed') as completed,
  count(*) filter (where pa.status = 'failed') as failed,
  count(*) filter (where pa.status = 'skipped') as skipped,
  count(*) filter (where pa.status = 'pending') as pending
from public.pod_activities pa
where pa.member_id is not null and pa.pod_id is not null
group by pa.client_id, pa.pod_id, pa.member_id, (coalesce(pa.scheduled_for, pa.created_at) at time zone 'UTC')::date;

create unique index analytics_pod_member_daily_key on analytics.pod_member_daily (member_id, day);
create index analytics_pod_member_daily_client on analytics.pod_member_daily (client_id, day);

grant select on all tables in schema analytics to service_role;


-- Refresh: every view concurrently (readers never wait), a view never populated yet plainly. One
-- refresher at a time: a second caller returns false at once instead of queueing behind the first.
-- Runs as the views' owner (only an owner may refresh); granted to the service role alone.
create or replace function analytics.refresh()
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v regclass;
begin
  if not pg_try_advisory_xact_lock(hashtext('revos:analytics.refresh')) then
    return false;
  end if;
  foreach v in array array[
    'analytics.campaign_funnel_daily', 'analytics.post_daily', 'analytics.dm_template_daily',
    'analytics.account_usage_daily', 'analytics.pod_member_daily'
  ]::regclass[] loop
    if (select c.relispopulated from pg_catalog.pg_class c where c.oid = v) then
      execute format('refresh materialized view concurrently %s', v);
    else
      execute format('refresh materialized view %s', v);
    end if;
  end loop;
  return true;
end;
$$;

revoke all on function analytics.refresh() from public;
grant execute on function analytics.refresh() to service_role;


-- What tenants read: each materialized view filtered by the caller's clients.
create view public.analytics_campaign_funnel with (security_barrier = true) as
select * from analytics.campaign_funnel_daily
where client_id = any ((select public.revos_tenant_client_ids())::uuid[]);

create view public.analytics_post_daily with (security_barrier = true) as
select * from analytics.post_daily
where client_id = any ((select public.revos_tenant_client_ids())::uuid[]);

create view public.analytics_dm_templates with (security_barrier = true) as
select * from analytics.dm_template_daily
where client_id = any ((select public.revos_tenant_client_ids())::uuid[]);

create view public.analytics_account_usage with (security_barrier = true) as
select * from analytics.account_usage_daily
where client_id = any ((select public.revos_tenant_client_ids())::uuid[]);

create view public.analytics_pod_participation with (security_barrier = true) as
select * from analytics.pod_member_daily
where client_id = any ((select public.revos_tenant_client_ids())::uuid[]);

revoke all on public.analytics_campaign_funnel, public.analytics_post_daily, public.analytics_dm_templates,
  public.analytics_account_usage, public.analytics_pod_participation from public, anon, authenticated;
grant select on public.analytics_campaign_funnel, public.analytics_post_daily, public.analytics_dm_templates,
  public.analytics_account_usage, public.analytics_pod_participation to authenticated, service_role;
