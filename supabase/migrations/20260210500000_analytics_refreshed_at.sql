-- When the analytics views were last refreshed, so a reader can say how fresh its figures are
-- (the dashboard's overview: "as of ..."). One row, written by analytics.refresh() itself.

create table analytics.refreshes (
  singleton boolean primary key default true check (singleton),
  refreshed_at timestamptz not null
);
revoke all on analytics.refreshes from public;

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
  insert into analytics.refreshes (singleton, refreshed_at) values (true, pg_catalog.clock_timestamp())
  on conflict (singleton) do update set refreshed_at = excluded.refreshed_at;
  return true;
end;
$$;

revoke all on function analytics.refresh() from public;
grant execute on function analytics.refresh() to service_role;

-- The time of the last refresh (null before the first): one instant for every tenant, no tenant data.
create function public.analytics_refreshed_at()
returns timestamptz
language sql
stable
security definer
set search_path = ''
as $$ select r.refreshed_at from analytics.refreshes r $$;

revoke all on function public.analytics_refreshed_at() from public;
grant execute on function public.analytics_refreshed_at() to authenticated, service_role;
