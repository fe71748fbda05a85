-- Audit entries without jsonb: one generated trigger function per audited table.
--
-- `revos_audit_statement` turned both versions of every written row into jsonb (`to_jsonb`) and compared
-- them key by key to name the changed columns: on a batch of updates of `linkedin_actions` that doubled
-- the cost of the statement (10-12 µs a row without the trigger, 26-27 µs with it, 18-19 µs with the
-- function below). Each audited table now gets its own function, `revos_audit__<table>`, generated from
-- the table's columns: the same entries (who, client, table, row id, operation, and the names of the
-- columns set or changed, in "C" order; never values), with the columns compared as their own types.
--
-- Same names as before, case by case:
--   * set (insert, delete, a version without its pair): a column whose value is not null; a jsonb
--     column holding JSON `null` is not set (to_jsonb could not tell it from SQL NULL);
--   * changed (update): `is distinct from` on types whose equality is their text's (uuid, text,
--     integers, numeric, booleans, timestamps, dates, bytea, text[] and uuid[]); jsonb with SQL NULL
--     and JSON null alike; json as jsonb; every other type (vector, interval, ...) by its text, which is
--     what to_jsonb compared.
--
-- The function depends on the table's columns: `revos db migrate` calls `revos_audit_refresh()` after
-- every migration file, in its transaction, and it regenerates the function of each audited table whose
-- columns (names, types, the table's name) changed since (the signature is the function's comment). A
-- migration that drops a column of an audited table and writes to the table in the same file calls
-- `revos_enable_audit` itself between the two.

create or replace function public.revos_audit_signature(tbl regclass)
returns text
language sql
stable
set search_path = ''
as $$
  select md5(c.relname || ':' || coalesce(string_agg(
           a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ',' order by a.attnum), ''))
  from pg_catalog.pg_class c
  left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  where c.oid = tbl
  group by c.relname
$$;

revoke execute on function public.revos_audit_signature(regclass) from public;

-- Puts a table under audit (tables created later call it next to revos_apply_tenant_policies()):
-- statement triggers with the table's own function when it has an `id` column, the row variant
-- (`revos_audit_row_pending`) otherwise.
create or replace function public.revos_enable_audit(tbl regclass)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_table text;
  v_schema text;
  v_fn text;
  v_key text;
  v_set_n text;
  v_set_o text;
  v_changed text;
begin
  execute format('drop trigger if exists audit_row on %s', tbl);
  execute format('drop trigger if exists audit_insert on %s', tbl);
  execute format('drop trigger if exists audit_update on %s', tbl);
  execute format('drop trigger if exists audit_delete on %s', tbl);
  if not exists (select from pg_catalog.pg_attribute a
                 where a.attrelid = tbl and a.attname = 'id' and a.attnum > 0 and not a.attisdropped) then
    execute format(
      'create trigger audit_row after insert or update or delete on %s '
      'for each row execute function public.revos_audit_row_pending()', tbl);
    return;
  end if;

  select c.relname, n.nspname into v_table, v_schema
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.oid = tbl;
  v_fn := format('%I.%I', v_schema, left('revos_audit__' || v_table, 63));
  v_key := case when v_table = 'clients' then 'id' else 'client_id' end;

  -- Per column, in "C" order of names: is it set (in `n`, in `o`), has it changed (`o` → `n`).
  select string_agg(format('case when %s then %L::text end', replace(x.is_set, '$', 'n'), x.name), ', '
                    order by x.name collate "C"),
         string_agg(format('case when %s then %L::text end', replace(x.is_set, '$', 'o'), x.name), ', '
                    order by x.name collate "C"),
         string_agg(format('case when %s then %L::text end', x.changed, x.name), ', '
                    order by x.name collate "C")
    into v_set_n, v_set_o, v_changed
  from (
    select a.attname::text as name,
           case
             when t.oid = 'jsonb'::regtype then format('coalesce($.%I, ''null''::jsonb) <> ''null''::jsonb', a.attname)
             when t.oid = 'json'::regtype then format('coalesce($.%I::jsonb, ''null''::jsonb) <> ''null''::jsonb', a.attname)
             else format('$.%I is not null', a.attname)
           end as is_set,
           case
             when t.oid = 'jsonb'::regtype then
               format('coalesce(o.%1$I, ''null''::jsonb) is distinct from coalesce(n.%1$I, ''null''::jsonb)', a.attname)
             when t.oid = 'json'::regtype then
               format('coalesce(o.%1$I::jsonb, ''null''::jsonb) is distinct from coalesce(n.%1$I::jsonb, ''null''::jsonb)', a.attname)
             when t.oid in ('uuid'::regtype, 'text'::regtype, 'character varying'::regtype, 'smallint'::regtype,
                            'integer'::regtype, 'bigint'::regtype, 'numeric'::regtype, 'boolean'::regtype,
                            'timestamp with time zone'::regtype, 'timestamp without time zone'::regtype,
                            'date'::regtype, 'bytea'::regtype, 'text[]'::regtype, 'uuid[]'::regtype)
               and a.attcollation in (0, 100) -- the default collation: equal text is equal bytes
               then format('o.%1$I is distinct from n.%1$I', a.attname)
             else format('o.%1$I::text is distinct from n.%1$I::text', a.attname)
           end as changed
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_type t on t.oid = a.atttypid
    where a.attrelid = tbl and a.attnum > 0 and not a.attisdropped
  ) x;

  if not exists (select from pg_catalog.pg_attribute a
                 where a.attrelid = tbl and a.attname = v_key and a.attnum > 0 and not a.attisdropped) then
    -- No client column (sign-in attempts): no client's data, nothing to log, as before.
    execute format($f$
create or replace function %s()
returns trigger
language plpgsql
as $body$
begin
  return null;
end;
$body$
$f$, v_fn);
  else
    execute format($f$
create or replace function %1$s()
returns trigger
language plpgsql
security definer
set search_path = ''
as $body$
declare
  claims jsonb;
  v_actor text;
  v_role text;
  v_at timestamptz;
begin
  -- A statement that wrote no row costs one look at its (empty) transition table.
  if tg_op = 'DELETE' then
    perform from o limit 1;
  else
    perform from n limit 1;
  end if;
  if not found then
    return null;
  end if;
  claims := auth.jwt();
  v_actor := coalesce(claims ->> 'sub', 'system');
  -- current_setting('role') is the caller's `set role` even inside this SECURITY DEFINER function.
  v_role := coalesce(claims ->> 'user_role', claims ->> 'role',
                     nullif(current_setting('role'), 'none'), session_user::text);
  v_at := clock_timestamp();
  -- Shared rows without a client (system cartridges) are not tenant data and are not logged.
  if tg_op = 'INSERT' then
    insert into public.audit_pending (
      client_id, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns
    )
    select n.%3$I, v_at, v_actor, v_role, %2$L, n.id::text, 'INSERT', array_remove(array[%4$s], null)
    from n
    where n.%3$I is not null;
  elsif tg_op = 'DELETE' then
    insert into public.audit_pending (
      client_id, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns
    )
    select o.%3$I, v_at, v_actor, v_role, %2$L, o.id::text, 'DELETE', array_remove(array[%5$s], null)
    from o
    where o.%3$I is not null;
  else
    -- Old and new versions of a row meet on its id; a row whose id itself changed is logged as two
    -- updates, each naming the columns its one version sets. A row moved between clients is logged in
    -- both chains.
    insert into public.audit_pending (
      client_id, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns
    )
    select u.client_id, v_at, v_actor, v_role, %2$L, coalesce(n.id, o.id)::text, 'UPDATE',
           case
             when o.id is null then array_remove(array[%4$s], null)
             when n.id is null then array_remove(array[%5$s], null)
             else array_remove(array[%6$s], null)
           end
    from o full join n on n.id = o.id
    cross join lateral unnest(
      case when o.%3$I <> n.%3$I then array[o.%3$I, n.%3$I] else array[coalesce(n.%3$I, o.%3$I)] end
    ) as u (client_id)
    where u.client_id is not null;
  end if;
  return null;
end;
$body$
$f$, v_fn, v_table, v_key, v_set_n, v_set_o, v_changed);
  end if;
  execute format('revoke execute on function %s() from public', v_fn);
  execute format('comment on function %s() is %L', v_fn, public.revos_audit_signature(tbl));

  execute format(
    'create trigger audit_insert after insert on %s referencing new table as n '
    'for each statement execute function %s()', tbl, v_fn);
  execute format(
    'create trigger audit_update after update on %s referencing old table as o new table as n '
    'for each statement execute function %s()', tbl, v_fn);
  execute format(
    'create trigger audit_delete after delete on %s referencing old table as o '
    'for each statement execute function %s()', tbl, v_fn);
end;
$$;

revoke execute on function public.revos_enable_audit(regclass) from public;

-- The audited tables whose columns changed since their function was generated get it again; returns
-- how many. `revos db migrate` runs it after every migration file.
create or replace function public.revos_audit_refresh()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  t regclass;
  n integer := 0;
begin
  for t in
    select tr.tgrelid::regclass
    from pg_catalog.pg_trigger tr
    where tr.tgname = 'audit_update' and tr.tgparentid = 0
      and pg_catalog.obj_description(tr.tgfoid, 'pg_proc') is distinct from public.revos_audit_signature(tr.tgrelid)
    order by tr.tgrelid
  loop
    perform public.revos_enable_audit(t);
    n := n + 1;
  end loop;
  return n;
end;
$$;

revoke execute on function public.revos_audit_refresh() from public;

-- Every audited table moves to its own function (partitions follow their root).
do $$
declare
  t regclass;
begin
  for t in
    select tr.tgrelid::regclass from pg_catalog.pg_trigger tr
    where tr.tgname = 'audit_update' and tr.tgfoid = 'public.revos_audit_statement()'::regprocedure
      and tr.tgparentid = 0
    order by tr.tgrelid
  loop
    perform public.revos_enable_audit(t);
  end loop;
end;
$$;

drop function public.revos_audit_statement();
