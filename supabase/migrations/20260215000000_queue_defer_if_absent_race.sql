-- `revos_defer_jobs_if_absent` answers the rare race itself: when another transaction defers a job under
-- the same queueing lock at that very moment (both saw no waiting job, the second insert waits on the
-- first and then violates the lock's unique index), none of the jobs is added and the caller's
-- transaction goes on. The caller used to wrap every call in a savepoint for that race: two more round
-- trips (SAVEPOINT, RELEASE) on each of the 8,274 deferrals of the lead path's replayed day at F=0.1. An
-- exception block is a subtransaction inside the server, with no round trip.
create or replace function procrastinate.revos_defer_jobs_if_absent(
  queue_names text[],
  task_names text[],
  priorities integer[],
  locks text[],
  queueing_locks text[],
  args jsonb[],
  scheduled_ats timestamptz[]
)
returns bigint[]
language plpgsql
volatile
security definer
set search_path = procrastinate, pg_temp
as $$
declare
  v_constraint text;
begin
  return coalesce(procrastinate.procrastinate_defer_jobs_v1(array(
    select row(q, t, p, l, ql, a, s)::procrastinate.procrastinate_job_to_defer_v1
    from unnest(queue_names, task_names, priorities, locks, queueing_locks, args, scheduled_ats)
      with ordinality as job(q, t, p, l, ql, a, s, n)
    where ql is null
      or not exists (select 1 from procrastinate.procrastinate_jobs j where j.queueing_lock = ql and j.status = 'todo')
    order by n
  )), '{}');
exception when unique_violation then
  get stacked diagnostics v_constraint = constraint_name;
  if v_constraint = 'procrastinate_jobs_queueing_lock_idx_v1' then
    return '{}';
  end if;
  raise;
end;
$$;
