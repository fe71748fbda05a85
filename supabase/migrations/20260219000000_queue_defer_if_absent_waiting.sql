-- `revos_defer_jobs_if_absent` returns at once when every job it is given already has one waiting under
-- its queueing lock: no subtransaction and no insert of nothing. That is most calls (a lead's step wakes an
-- account's DM run that is already queued, an inbox event a drain that is already waiting: 8,221 calls for
-- about 1,200 jobs in the replayed day at F=0.1). The exception block, which answers the race of two
-- transactions deferring under the same lock at once, is entered only when there is something to insert.
--
-- Its statements are planned once per connection (`plan_cache_mode`): on its array arguments PL/pgSQL's
-- plan cache kept choosing a custom plan, so every call planned its statements again. A call that finds
-- its job waiting took 170-190 µs of the server's CPU (a `select 1` and its commit: 26 µs); 82 µs now.
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
set plan_cache_mode = force_generic_plan
as $$
declare
  v_jobs procrastinate.procrastinate_job_to_defer_v1[];
  v_constraint text;
begin
  v_jobs := array(
    select row(q, t, p, l, ql, a, s)::procrastinate.procrastinate_job_to_defer_v1
    from unnest(queue_names, task_names, priorities, locks, queueing_locks, args, scheduled_ats)
      with ordinality as job(q, t, p, l, ql, a, s, n)
    where ql is null
      or not exists (select 1 from procrastinate.procrastinate_jobs j where j.queueing_lock = ql and j.status = 'todo')
    order by n
  );
  if cardinality(v_jobs) = 0 then
    return '{}';
  end if;
  begin
    return coalesce(procrastinate.procrastinate_defer_jobs_v1(v_jobs), '{}');
  exception when unique_violation then
    get stacked diagnostics v_constraint = constraint_name;
    if v_constraint = 'procrastinate_jobs_queueing_lock_idx_v1' then
      return '{}';
    end if;
    raise;
  end;
end;
$$;
