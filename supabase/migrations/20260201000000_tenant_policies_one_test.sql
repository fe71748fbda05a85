-- Tenant policies as one index-usable test, computed once per statement, at a third of the fixed cost.
--
-- Until now each tenant policy read
--   client_id = (select auth.jwt() ->> 'client_id')::uuid
--   or client_id = any ((select public.revos_agency_client_ids())::uuid[])
-- which costs, measured at a million leads over two clients:
--   * an OR of two tests is not an index condition, so no index on client_id could serve a statement
--     through the policy alone (a campaign's count of leads by status read every lead of the campaign
--     from the heap: 180 ms instead of 6 ms without RLS);
--   * the claim's cast to uuid stood outside the init plan: every row paid a text -> uuid parse;
--   * revos_agency_client_ids() ran for every table of every statement, for client users too, and read
--     clients each time: about 0.1 ms per table, so a list of five users cost three times its query.
--
-- Now every tenant policy is `client_id = any ((select public.revos_tenant_client_ids())::uuid[])`:
-- one array per statement (the claim's client for a client user, every client of the agency for its
-- staff, nothing for anybody else: exactly whom the two tests admitted), one test per row, usable as
-- `Index Cond: client_id = ANY (...)`. A client user's statement no longer reads clients at all: the
-- policy costs about 30 us per table per statement, about what a non-inlined SQL function call costs.
-- (An inlined helper was measured slower, not faster: the planner parses an inlined function's body,
-- and auth.jwt()'s, every time it plans a statement.)

-- The clients whose rows the caller reaches: its own for a client user (client_id wins over any
-- agency claim), every client of the agency for agency staff, none for anybody else. The list
-- queries also walk these clients one by one (revos.db.crud.page_query).
create or replace function public.revos_tenant_client_ids()
returns uuid[]
language sql
stable
set search_path = ''
as $$
  select case
    when auth.jwt() ->> 'client_id' is not null then array[(auth.jwt() ->> 'client_id')::uuid]
    else public.revos_agency_client_ids()
  end
$$;

grant execute on function public.revos_tenant_client_ids() to authenticated, service_role;


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
    '%I = any ((select public.revos_tenant_client_ids())::uuid[])', tenant_column);
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


-- Every table registered with revos_apply_tenant_policies (whichever migration did it) gets the new
-- policies. Registered tables are recognised by their tenant_insert policy; the one table whose
-- select policy also shares rows (system cartridges) is re-registered with the same shared rows, and
-- any other difference between a table's select and insert tests stops the migration rather than
-- being dropped silently.
do $$
declare
  t record;
begin
  for t in
    select c.oid::regclass as tbl, c.relname,
           pg_get_expr(ps.polqual, ps.polrelid) as select_test,
           pg_get_expr(pi.polwithcheck, pi.polrelid) as insert_test
    from pg_policy pi
    join pg_class c on c.oid = pi.polrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_policy ps on ps.polrelid = pi.polrelid and ps.polname = 'tenant_select'
    where n.nspname = 'public' and pi.polname = 'tenant_insert' and c.relname <> 'clients'
    order by c.relname
  loop
    if t.insert_test not like '%client_id = ANY%revos_agency_client_ids()%' then
      raise exception 'tenant policies of % are not the standard ones: %', t.relname, t.insert_test;
    end if;
    if t.relname = 'cartridges' then
      perform public.revos_apply_tenant_policies(
        t.tbl, shared_rows => 'client_id is null and tier = ''system''');
    elsif t.select_test is distinct from t.insert_test then
      raise exception 'tenant_select of % differs from its tenant_insert: %', t.relname, t.select_test;
    else
      perform public.revos_apply_tenant_policies(t.tbl);
    end if;
  end loop;
end;
$$;

-- clients: the row's id plays client_id. Agency staff are tested first: their test needs no array,
-- and when it holds the other is never computed (an init plan runs when first needed). Staff still
-- match on agency_id, which also covers a client they are inserting (20260101002000).
drop policy tenant_select on public.clients;
create policy tenant_select on public.clients for select to authenticated
  using (agency_id = (select public.revos_staff_agency_id())
         or id = any ((select public.revos_tenant_client_ids())::uuid[]));

drop policy tenant_select on public.audit_log;
create policy tenant_select on public.audit_log for select to authenticated
  using (client_id = any ((select public.revos_tenant_client_ids())::uuid[]));
