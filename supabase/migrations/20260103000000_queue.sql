-- The job queue: revOS's side of Procrastinate.
--
-- Procrastinate itself lives in schema `procrastinate` (never `public`, whose tables are all tenant
-- tables under forced RLS). `revos db migrate` installs or upgrades it from the SQL the installed
-- package ships, *before* this file runs. Running the migrations with another tool (the Supabase CLI)
-- therefore needs `revos db migrate` once first; the check below says so instead of failing obscurely.

do $$
begin
  if to_regclass('procrastinate.procrastinate_jobs') is null then
    raise exception 'schema procrastinate is missing: run `revos db migrate`, which installs the job queue '
      'before applying this file';
  end if;
end
$$;

-- max_attempts per task, written by the worker from its task registry at start, so the queue_jobs view
-- can show it (Procrastinate keeps retry policies in Python only).
create table procrastinate.revos_tasks (
  task_name text primary key,
  queue_name text not null,
  max_attempts integer not null check (max_attempts >= 1),
  updated_at timestamptz not null default now()
);

-- The last error of a job, written by the worker when a task raises: Procrastinate records that a job
-- failed, not why, and "failed" without a reason a person can read is what the design forbids.
create table procrastinate.revos_job_errors (
  job_id bigint primary key references procrastinate.procrastinate_jobs (id) on delete cascade,
  message text not null,
  failed_at timestamptz not null default now()
);

-- Deferring, callable from the caller's own transaction whatever its role and search_path: a request
-- running as `authenticated` defers the job its write causes in the same transaction. Security definer
-- so that role needs no privilege on the queue's tables: it can add jobs, never read or change them.
-- Parallel arrays (one element per job) so a batch is one statement.
create function procrastinate.revos_defer_jobs(
  queue_names text[],
  task_names text[],
  priorities integer[],
  locks text[],
  queueing_locks text[],
  args jsonb[],
  scheduled_ats timestamptz[]
)
returns bigint[]
language sql
volatile
security definer
set search_path = procrastinate, pg_temp
as $$
  select procrastinate.procrastinate_defer_jobs_v1(array(
    select row(q, t, p, l, ql, a, s)::procrastinate.procrastinate_job_to_defer_v1
    from unnest(queue_names, task_names, priorities, locks, queueing_locks, args, scheduled_ats)
      with ordinality as job(q, t, p, l, ql, a, s, n)
    order by n
  ))
$$;

revoke all on function procrastinate.revos_defer_jobs(text[], text[], integer[], text[], text[], jsonb[], timestamptz[])
  from public;
grant execute on function procrastinate.revos_defer_jobs(text[], text[], integer[], text[], text[], jsonb[], timestamptz[])
  to authenticated, service_role;
-- Usage only lets `authenticated` name the function above; it holds no privilege on any table here.
grant usage on schema procrastinate to authenticated;

-- The spec's queue_jobs, as a view: one truth for job state. Statuses: todo → pending (delayed while
-- scheduled in the future), doing → active, succeeded → completed, failed/cancelled/aborted → failed.
-- id is derived from the bigint job id (stable, unique), job_id is that id as text.
create view public.queue_jobs
with (security_invoker = true)
as
select
  md5('procrastinate_jobs:' || j.id::text)::uuid as id,
  j.id::text as job_id,
  j.queue_name::text as queue_name,
  j.task_name::text as job_type,
  j.args as payload,
  case
    when j.status = 'todo' and j.scheduled_at > now() then 'delayed'
    when j.status = 'todo' then 'pending'
    when j.status in ('doing', 'aborting') then 'active'
    when j.status = 'succeeded' then 'completed'
    else 'failed'
  end as status,
  j.attempts,
  coalesce(t.max_attempts, 3) as max_attempts,
  err.message as error_message,
  j.scheduled_at as scheduled_for,
  ev.started_at,
  case when j.status in ('succeeded', 'failed', 'cancelled', 'aborted') then ev.finished_at end as completed_at,
  ev.created_at,
  -- Additions: what the queue itself knows and the spec's columns cannot say.
  j.id as queue_job_id,
  j.status::text as queue_status,
  j.priority,
  j.lock,
  j.queueing_lock
from procrastinate.procrastinate_jobs j
left join procrastinate.revos_tasks t on t.task_name = j.task_name
left join procrastinate.revos_job_errors err on err.job_id = j.id
left join lateral (
  select
    min(e.at) filter (where e.type = 'deferred') as created_at,
    max(e.at) filter (where e.type = 'started') as started_at,
    max(e.at) filter (where e.type in ('succeeded', 'failed', 'cancelled', 'aborted')) as finished_at
  from procrastinate.procrastinate_events e
  where e.job_id = j.id
) ev on true;

comment on view public.queue_jobs is
  'The spec''s queue_jobs over Procrastinate''s jobs; readable by service_role only';

-- Jobs of every tenant are in here: only the service role reads them. Supabase grants anon and
-- authenticated everything on new objects of `public` by default, hence the explicit revoke; and
-- security_invoker makes the view check the reader's own (absent) privileges on the queue's tables.
revoke all on public.queue_jobs from public, anon, authenticated;
grant select on public.queue_jobs to service_role;

grant usage on schema procrastinate to service_role;
grant select, insert, update, delete on all tables in schema procrastinate to service_role;
grant usage, select on all sequences in schema procrastinate to service_role;
