-- Row-level security: every table has RLS enabled and forced, and one policy per operation.
--
-- Who sees what (claims come from auth.jwt(), see the compat migration):
--   * a client user (claim client_id): rows whose client_id is that client;
--   * agency staff (claims agency_id and user_role = 'admin', and no client_id): rows of every client
--     of that agency, and nothing of any other agency;
--   * anon: nothing, it has no privilege on any table;
--   * service_role: everything (BYPASSRLS); workers scope their queries by client_id themselves.
--
-- Policies compare client_id with a value computed once per statement (the `(select …)` wrappers turn
-- the calls into init plans), so every check is an index equality with no join, as Supabase advises.
-- The `::uuid[]` cast in `= any ((select …)::uuid[])` is needed: without it PostgreSQL reads
-- `= any (subquery)` as a comparison with each row of the subquery (uuid = uuid[]).

-- The helpers below and the audit trigger are SECURITY DEFINER and read tables under forced RLS:
-- their owner (the role running migrations) must bypass RLS, as `postgres` does on Supabase.
do $$
begin
  if not (select rolsuper or rolbypassrls from pg_roles where rolname = current_user) then
    raise exception 'migrations must run as a superuser or a BYPASSRLS role, not %', current_user;
  end if;
end
$$;

-- The agency of agency staff, null for anybody else (client users carry client_id and stay in it).
create or replace function public.revos_staff_agency_id()
returns uuid
language sql
stable
set search_path = ''
as $$
  select case
    when auth.jwt() ->> 'user_role' = 'admin' and auth.jwt() ->> 'client_id' is null
      then (auth.jwt() ->> 'agency_id')::uuid
  end
$$;

-- Clients that agency staff may reach: all clients of their agency; empty for everybody else.
-- SECURITY DEFINER because it reads clients, whose own policies call it.
create or replace function public.revos_agency_client_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(c.id), '{}')
  from public.clients c
  where c.agency_id = public.revos_staff_agency_id()
$$;

-- The agency of a client user's client, so the user can read the agency it belongs to.
create or replace function public.revos_client_agency_id()
returns uuid
language sql
stable
security definer
set search_path = ''
as $$
  select c.agency_id
  from public.clients c
  where c.id = (auth.jwt() ->> 'client_id')::uuid
$$;

-- Puts a tenant-scoped table under the standard policies. Tables added later call it once:
--   select public.revos_apply_tenant_policies('public.new_table');
-- `shared_rows`, when given, is an extra condition under which rows are readable by every
-- authenticated user (never writable), e.g. system cartridges.
create or replace function public.revos_apply_tenant_policies(
  tbl regclass,
  tenant_column name default 'client_id',
  shared_rows text default null
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  is_tenant text := format(
    '%1$I = (select auth.jwt() ->> ''client_id'')::uuid '
    'or %1$I = any ((select public.revos_agency_client_ids())::uuid[])',
    tenant_column);
  op text;
begin
  execute format('alter table %s enable row level security', tbl);
  execute format('alter table %s force row level security', tbl);

  execute format('revoke all on %s from anon, public', tbl);
  execute format('grant select, insert, update, delete on %s to authenticated, service_role', tbl);

  foreach op in array array['select', 'insert', 'update', 'delete'] loop
    execute format('drop policy if exists %I on %s', 'tenant_' || op, tbl);
  end loop;

  execute format(
    'create policy tenant_select on %s for select to authenticated using (%s)',
    tbl, case when shared_rows is null then is_tenant else is_tenant || ' or (' || shared_rows || ')' end);
  execute format(
    'create policy tenant_insert on %s for insert to authenticated with check (%s)', tbl, is_tenant);
  execute format(
    'create policy tenant_update on %s for update to authenticated using (%s) with check (%s)',
    tbl, is_tenant, is_tenant);
  execute format(
    'create policy tenant_delete on %s for delete to authenticated using (%s)', tbl, is_tenant);
end;
$$;

revoke execute on function public.revos_apply_tenant_policies(regclass, name, text) from public;


select public.revos_apply_tenant_policies(t)
from unnest(array[
  'public.users',
  'public.linkedin_accounts',
  'public.webhook_configs',
  'public.lead_magnets',
  'public.campaigns',
  'public.posts',
  'public.comments',
  'public.leads',
  'public.dm_sequences',
  'public.dm_messages',
  'public.webhook_deliveries',
  'public.pods',
  'public.pod_members',
  'public.pod_activities',
  'public.campaign_skills',
  'public.skill_executions',
  'public.memories',
  'public.api_keys'
]::regclass[]) as t;

select public.revos_apply_tenant_policies(
  'public.cartridges', shared_rows => 'client_id is null and tier = ''system''');


-- clients: the row's id plays client_id. Client users read their own client; agency staff read,
-- create, change and delete the clients of their agency (and cannot move one to another agency).
alter table public.clients enable row level security;
alter table public.clients force row level security;
revoke all on public.clients from anon, public;
grant select, insert, update, delete on public.clients to authenticated, service_role;

create policy tenant_select on public.clients for select to authenticated
  using (id = (select auth.jwt() ->> 'client_id')::uuid
         or id = any ((select public.revos_agency_client_ids())::uuid[]));
create policy tenant_insert on public.clients for insert to authenticated
  with check (agency_id = (select public.revos_staff_agency_id()));
create policy tenant_update on public.clients for update to authenticated
  using (id = any ((select public.revos_agency_client_ids())::uuid[]))
  with check (agency_id = (select public.revos_staff_agency_id()));
create policy tenant_delete on public.clients for delete to authenticated
  using (id = any ((select public.revos_agency_client_ids())::uuid[]));


-- agencies: staff read and update their own agency, client users read the agency of their client.
-- Creating and deleting agencies is for the service role only (no policy, no privilege).
alter table public.agencies enable row level security;
alter table public.agencies force row level security;
revoke all on public.agencies from anon, public;
grant select, update on public.agencies to authenticated;
grant select, insert, update, delete on public.agencies to service_role;

create policy tenant_select on public.agencies for select to authenticated
  using (id = (select public.revos_staff_agency_id()) or id = (select public.revos_client_agency_id()));
create policy tenant_update on public.agencies for update to authenticated
  using (id = (select public.revos_staff_agency_id()))
  with check (id = (select public.revos_staff_agency_id()));


-- audit_log: tenants read their own trail; nobody writes it but the audit trigger.
alter table public.audit_log enable row level security;
alter table public.audit_log force row level security;
revoke all on public.audit_log from anon, public;
grant select on public.audit_log to authenticated, service_role;

create policy tenant_select on public.audit_log for select to authenticated
  using (client_id = (select auth.jwt() ->> 'client_id')::uuid
         or client_id = any ((select public.revos_agency_client_ids())::uuid[]));


-- encryption_keys: key material is the service role's business only. RLS is on and forced with no
-- policy at all, and tenants hold no privilege on it.
alter table public.encryption_keys enable row level security;
alter table public.encryption_keys force row level security;
revoke all on public.encryption_keys from anon, authenticated, public;
grant select, insert, update, delete on public.encryption_keys to service_role;
