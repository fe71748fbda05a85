-- `defer_if_absent` (a job whose queueing lock may already be waiting) without an error in the common case.
-- It deferred and caught the unique violation under a savepoint; rolling back to the savepoint also made
-- the client library drop every prepared statement of the connection (it cannot tell which the rollback
-- invalidated), so statements were planned again and again (1,040 such rollbacks in 20 s of the lead
-- path). Jobs whose queueing lock is already waiting are left out here; the caller keeps the savepoint
-- for the rare race where two transactions defer the same lock at once.
create function procrastinate.revos_defer_jobs_if_absent(
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
  select coalesce(procrastinate.procrastinate_defer_jobs_v1(array(
    select row(q, t, p, l, ql, a, s)::procrastinate.procrastinate_job_to_defer_v1
    from unnest(queue_names, task_names, priorities, locks, queueing_locks, args, scheduled_ats)
      with ordinality as job(q, t, p, l, ql, a, s, n)
    where ql is null
      or not exists (select 1 from procrastinate.procrastinate_jobs j where j.queueing_lock = ql and j.status = 'todo')
    order by n
  )), '{}')
$$;

revoke all on function procrastinate.revos_defer_jobs_if_absent(text[], text[], integer[], text[], text[], jsonb[], timestamptz[])
  from public;
grant execute on function procrastinate.revos_defer_jobs_if_absent(text[], text[], integer[], text[], text[], jsonb[], timestamptz[])
  to authenticated, service_role;
