-- Daily rate-limit reset, as in the spec. pg_cron is not available (embedded server, most managed
-- instances), so the worker calls it on a schedule instead.
--
-- One addition: an account whose rate_limit_reset_at was never set (null) is due as well. With the
-- spec's `rate_limit_reset_at < now()` alone, such an account would never be reset nor scheduled.

create or replace function public.reset_daily_limits()
returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.linkedin_accounts
  set daily_dm_count = 0,
      daily_post_count = 0,
      rate_limit_reset_at = now() + interval '24 hours'
  where rate_limit_reset_at < now()
     or rate_limit_reset_at is null;
end;
$$;

-- A tenant calling it would only reset its own accounts (RLS), but it is the scheduler's job alone.
revoke execute on function public.reset_daily_limits() from public;
grant execute on function public.reset_daily_limits() to service_role;
