-- Indexes that keep the /metrics collectors cheap: each reads only the last
-- REVOS_METRICS_WINDOW_SECONDS of an append-only table through one of these, never the whole table.
-- (On a table partitioned by month the index is created on every partition.)

create index if not exists idx_linkedin_actions_created on public.linkedin_actions (created_at);
create index if not exists idx_webhook_delivery_attempts_attempted
  on public.webhook_delivery_attempts (attempted_at);
create index if not exists idx_pod_activities_executed
  on public.pod_activities (executed_at) where executed_at is not null;

-- Jobs finished recently, by outcome (Procrastinate's events table has only job_id indexed).
create index if not exists revos_procrastinate_events_finished
  on procrastinate.procrastinate_events (at)
  where type in ('succeeded', 'failed', 'cancelled', 'aborted');
