-- Operations at the spec's scale: monthly partitions, retention anchors, archived campaigns.
--
-- Which tables are partitioned (design §5.8; docs/operations.md "Partitions and retention"): only
-- append-only logs whose only unique key is a surrogate id, so the key can take the partition column
-- without losing a guarantee anybody relies on. Of the candidates, webhook_delivery_attempts qualifies.
-- pod_activities (updated through its life, dedupe key (pod_post_id, member_id, engagement_type)),
-- inbound_events (processed_at updated, global dedupe key event_key), skill_executions (reviews update
-- it, its id is the API's handle) and audit_log (the chain's key (client_id, seq)) stay plain tables:
-- retention deletes their old rows in batches instead.


-- 1. The audit trigger names the partitioned table, not the partition ---------------------------------
--
-- A row trigger declared on a partitioned table fires with TG_TABLE_NAME = the partition. The trail
-- (and its readers) name the table a person knows, so the trigger maps a partition to its root.
create or replace function public.revos_audit_row()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  claims jsonb := auth.jwt();
  old_doc jsonb;
  new_doc jsonb;
  v_row_id text;
  v_columns text[];
  v_actor text;
  v_role text;
  v_client uuid;
  v_seq bigint;
  v_prev bytea;
  v_at timestamptz := clock_timestamp();
  v_table text := tg_table_name;
begin
  if tg_op <> 'INSERT' then
    old_doc := to_jsonb(old);
  end if;
  if tg_op <> 'DELETE' then
    new_doc := to_jsonb(new);
  end if;
  v_row_id := coalesce(new_doc, old_doc) ->> 'id';
  if v_table ~ '_(p\d{6}|default)$' then
    select c.relname into v_table from pg_catalog.pg_class c
    where c.oid = coalesce(pg_catalog.pg_partition_root(tg_relid), tg_relid);
  end if;

  if tg_op = 'UPDATE' then
    select coalesce(array_agg(n.key order by n.key collate "C"), '{}') into v_columns
    from jsonb_each(new_doc) n join jsonb_each(old_doc) o using (key)
    where n.value is distinct from o.value;
  else
    select coalesce(array_agg(d.key order by d.key collate "C"), '{}') into v_columns
    from jsonb_each(coalesce(new_doc, old_doc)) d
    where d.value <> 'null'::jsonb;
  end if;

  v_actor := coalesce(claims ->> 'sub', 'system');
  v_role := coalesce(claims ->> 'user_role', claims ->> 'role',
                     nullif(current_setting('role'), 'none'), session_user::text);

  for v_client in
    select distinct c from unnest(array[
      case when v_table = 'clients' then (old_doc ->> 'id')::uuid else (old_doc ->> 'client_id')::uuid end,
      case when v_table = 'clients' then (new_doc ->> 'id')::uuid else (new_doc ->> 'client_id')::uuid end
    ]) as c
    where c is not null
    order by c
  loop
    perform pg_advisory_xact_lock(1920364403, hashtext(v_client::text));

    select a.seq, a.hash into v_seq, v_prev
    from public.audit_log a
    where a.client_id = v_client
    order by a.seq desc
    limit 1;

    -- After a retention purge took every row of a client, the chain goes on from its anchor.
    if v_seq is null then
      select an.seq, an.hash into v_seq, v_prev from public.audit_anchors an where an.client_id = v_client;
    end if;

    v_seq := coalesce(v_seq, 0) + 1;
    v_prev := coalesce(v_prev, decode(repeat('00', 32), 'hex'));

    insert into public.audit_log (
      client_id, seq, occurred_at, actor, actor_role, table_name, row_id, operation,
      changed_columns, prev_hash, hash
    ) values (
      v_client, v_seq, v_at, v_actor, v_role, v_table, v_row_id, tg_op,
      v_columns, v_prev,
      sha256(v_prev || convert_to(public.revos_audit_canonical(
        v_client, v_seq, v_at, v_actor, v_role, v_table, v_row_id, tg_op, v_columns
      ), 'UTF8'))
    );
  end loop;
  return null;
end;
$$;

revoke execute on function public.revos_audit_row() from public;


-- 2. Audit anchors: where a client's chain starts after retention ------------------------------------
--
-- Retention deletes the oldest entries of a chain (a prefix, in seq order) and records, in the same
-- transaction, the last deleted entry's seq and hash here. Verification starts from the anchor instead
-- of the genesis hash, so the remaining chain is still proved link by link.
create table public.audit_anchors (
  id bigint generated always as identity primary key,
  client_id uuid not null unique, -- no foreign key, like audit_log: the trail outlives a deleted client
  seq bigint not null check (seq > 0),
  hash bytea not null check (length(hash) = 32),
  purged_rows bigint not null default 0 check (purged_rows >= 0),
  purged_at timestamptz not null default now()
);

alter table public.audit_anchors enable row level security;
alter table public.audit_anchors force row level security;
revoke all on public.audit_anchors from anon, public;
grant select on public.audit_anchors to authenticated, service_role;
create policy tenant_select on public.audit_anchors for select to authenticated
  using (client_id = any ((select public.revos_tenant_client_ids())::uuid[]));


-- 3. Archived campaigns ---------------------------------------------------------------------------------
--
-- A campaign completed for longer than REVOS_CAMPAIGN_ARCHIVE_AFTER_DAYS is archived: its rows and
-- numbers stay, but no dispatcher scans its posts, sequences, deliveries or pod activities any more.
alter table public.campaigns add column archived_at timestamptz;
create index idx_campaigns_archived on public.campaigns (id) where archived_at is not null;
create index idx_campaigns_completed_unarchived on public.campaigns (updated_at)
  where status = 'completed' and archived_at is null;


-- 4. Monthly partitions -----------------------------------------------------------------------------------

-- The partition of `tbl` holding the month that starts at `month` (created if missing, idempotent):
-- RLS enabled and forced like every table (tenants reach it only through the parent, which checks the
-- parent's policies and grants; the partition itself grants nothing).
create or replace function public.revos_ensure_month_partition(tbl regclass, month date)
returns regclass
language plpgsql
set search_path = ''
as $$
declare
  first date := date_trunc('month', month)::date;
  rel text := (select c.relname from pg_catalog.pg_class c where c.oid = tbl);
  nsp text := (select n.nspname from pg_catalog.pg_class c join pg_catalog.pg_namespace n
               on n.oid = c.relnamespace where c.oid = tbl);
  part text := rel || '_p' || to_char(first, 'YYYYMM');
  found regclass := to_regclass(format('%I.%I', nsp, part));
  moved bigint;
  dflt regclass := to_regclass(format('%I.%I', nsp, rel || '_default'));
  key text;
begin
  if found is not null then
    return found;
  end if;
  select a.attname into key
  from pg_catalog.pg_partitioned_table p
  join pg_catalog.pg_attribute a on a.attrelid = p.partrelid and a.attnum = p.partattrs[0]
  where p.partrelid = tbl;
  -- Rows already in the default partition for this month would make the new bound overlap: move them.
  if dflt is not null then
    execute format('create temporary table revos_moving on commit drop as select * from %s where %I >= %L and %I < %L',
                   dflt, key, first::text || ' 00:00:00+00', key,
                   (first + interval '1 month')::date::text || ' 00:00:00+00');
    get diagnostics moved = row_count;
    if moved > 0 then
      execute format('delete from %s where %I >= %L and %I < %L', dflt, key, first::text || ' 00:00:00+00',
                     key, (first + interval '1 month')::date::text || ' 00:00:00+00');
    end if;
  end if;
  -- Bounds at midnight UTC, whatever the session's TimeZone.
  execute format('create table %I.%I partition of %s for values from (%L) to (%L)',
                 nsp, part, tbl, first::text || ' 00:00:00+00',
                 (first + interval '1 month')::date::text || ' 00:00:00+00');
  execute format('alter table %I.%I enable row level security', nsp, part);
  execute format('alter table %I.%I force row level security', nsp, part);
  if dflt is not null then
    if moved > 0 then
      execute format('insert into %I.%I select * from pg_temp.revos_moving', nsp, part);
    end if;
    drop table pg_temp.revos_moving;
  end if;
  return to_regclass(format('%I.%I', nsp, part));
end;
$$;

revoke execute on function public.revos_ensure_month_partition(regclass, date) from public;

-- The months `from_month` .. `from_month + months_ahead`, each created if missing (the worker's daily
-- job; idempotent). Returns the partitions created now.
create or replace function public.revos_ensure_month_partitions(
  tbl regclass, from_month date, months_ahead integer default 2
)
returns setof regclass
language plpgsql
set search_path = ''
as $$
declare
  m date;
  existed boolean;
  part regclass;
begin
  for m in
    select generate_series(date_trunc('month', from_month), date_trunc('month', from_month)
                           + make_interval(months => months_ahead), interval '1 month')::date
  loop
    existed := to_regclass(format('%s_p%s', tbl::text, to_char(m, 'YYYYMM'))) is not null;
    part := public.revos_ensure_month_partition(tbl, m);
    if not existed then
      return next part;
    end if;
  end loop;
end;
$$;

revoke execute on function public.revos_ensure_month_partitions(regclass, date, integer) from public;

-- Drops the monthly partitions of `tbl` whose whole month ends at or before `cutoff`; returns them with
-- the rows each held. Rows of the default partition are left to batch deletes.
create or replace function public.revos_drop_month_partitions_before(tbl regclass, cutoff timestamptz)
returns table (partition_name text, row_count bigint)
language plpgsql
set search_path = ''
as $$
declare
  r record;
  upper_bound timestamptz;
begin
  for r in
    select c.oid::regclass as part, c.relname, pg_catalog.pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
    where i.inhparent = tbl and c.relname ~ '_p\d{6}$'
    order by c.relname
  loop
    upper_bound := (substring(r.bound from 'TO \(''([^'']+)''\)'))::timestamptz;
    if upper_bound <= cutoff then
      partition_name := r.relname;
      execute format('select count(*) from %s', r.part) into row_count;
      execute format('drop table %s', r.part);
      return next;
    end if;
  end loop;
end;
$$;

revoke execute on function public.revos_drop_month_partitions_before(regclass, timestamptz) from public;

-- Converts a plain table into one partitioned by month on `key_column`, keeping everything about it:
-- columns (those added by any earlier migration too), defaults, checks, indexes, foreign keys out and
-- in, triggers (the audit one included), RLS (enabled, forced, every policy), grants and comments, and
-- its rows. The primary key gains the partition column; any other unique key must already contain it
-- (otherwise the conversion stops: such a table is not a candidate, design §5.8). A default partition
-- takes rows outside every month, so no insert ever fails; the months of existing rows, the current
-- month and `months_ahead` more are created.
create or replace function public.revos_partition_by_month(
  tbl regclass, key_column text, months_ahead integer default 2
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  rel text := (select c.relname from pg_catalog.pg_class c where c.oid = tbl);
  nsp text := (select n.nspname from pg_catalog.pg_class c join pg_catalog.pg_namespace n
               on n.oid = c.relnamespace where c.oid = tbl);
  old_name text := rel || '_unpartitioned';
  new_tbl regclass;
  cols text;
  stmts text[] := '{}';
  incoming text[] := '{}';
  s text;
  r record;
  pk_cols text;
  first_month date;
begin
  if (select c.relkind from pg_catalog.pg_class c where c.oid = tbl) = 'p' then
    return; -- already partitioned
  end if;

  -- Unique keys other than the primary key must contain the partition column.
  for r in
    select i.indexrelid::regclass as idx
    from pg_catalog.pg_index i
    where i.indrelid = tbl and i.indisunique and not i.indisprimary
      and not exists (select from pg_catalog.pg_attribute a
                      where a.attrelid = tbl and a.attname = key_column and a.attnum = any (i.indkey))
  loop
    raise exception 'cannot partition %: unique index % does not contain %', tbl, r.idx, key_column;
  end loop;

  -- What the new table must get back, written out while the old one still holds it.
  for r in
    select pg_catalog.pg_get_indexdef(i.indexrelid) as def, c.conname, i.indisprimary
    from pg_catalog.pg_index i
    left join pg_catalog.pg_constraint c on c.conindid = i.indexrelid and c.conrelid = tbl
    where i.indrelid = tbl
  loop
    if r.indisprimary then
      select string_agg(format('%I', a.attname), ', ' order by k.n) into pk_cols
      from pg_catalog.pg_index i
      cross join lateral unnest(i.indkey) with ordinality as k (attnum, n)
      join pg_catalog.pg_attribute a on a.attrelid = tbl and a.attnum = k.attnum
      where i.indrelid = tbl and i.indisprimary;
      if pk_cols !~ ('(^|, )' || format('%I', key_column) || '($|,)') then
        pk_cols := pk_cols || ', ' || format('%I', key_column);
      end if;
      stmts := stmts || format('alter table %s add constraint %I primary key (%s)',
                               format('%I.%I', nsp, rel), r.conname, pk_cols);
    elsif r.conname is not null then
      stmts := stmts || format('alter table %s add constraint %I %s', format('%I.%I', nsp, rel), r.conname,
                               (select pg_catalog.pg_get_constraintdef(c.oid) from pg_catalog.pg_constraint c
                                where c.conrelid = tbl and c.conname = r.conname));
    else
      stmts := stmts || r.def;
    end if;
  end loop;

  for r in
    select c.conname, pg_catalog.pg_get_constraintdef(c.oid) as def
    from pg_catalog.pg_constraint c where c.conrelid = tbl and c.contype = 'f'
  loop
    stmts := stmts || format('alter table %I.%I add constraint %I %s', nsp, rel, r.conname, r.def);
  end loop;

  for r in
    select c.conname, c.conrelid::regclass as src, pg_catalog.pg_get_constraintdef(c.oid) as def
    from pg_catalog.pg_constraint c where c.confrelid = tbl and c.contype = 'f' and c.conrelid <> tbl
  loop
    execute format('alter table %s drop constraint %I', r.src, r.conname);
    incoming := incoming || format('alter table %s add constraint %I %s', r.src, r.conname, r.def);
  end loop;

  for r in
    select pg_catalog.pg_get_triggerdef(t.oid) as def
    from pg_catalog.pg_trigger t where t.tgrelid = tbl and not t.tgisinternal
  loop
    stmts := stmts || r.def;
  end loop;

  for r in
    select p.polname, p.polpermissive, p.polcmd,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual,
           pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as checks,
           (select string_agg(case when x = 0 then 'public' else format('%I', (select rolname from pg_catalog.pg_roles where oid = x)) end, ', ')
              from unnest(p.polroles) as x) as roles
    from pg_catalog.pg_policy p where p.polrelid = tbl
  loop
    stmts := stmts || format(
      'create policy %I on %I.%I as %s for %s to %s%s%s', r.polname, nsp, rel,
      case when r.polpermissive then 'permissive' else 'restrictive' end,
      case r.polcmd when 'r' then 'select' when 'a' then 'insert' when 'w' then 'update'
                    when 'd' then 'delete' else 'all' end,
      r.roles,
      case when r.qual is not null then ' using (' || r.qual || ')' else '' end,
      case when r.checks is not null then ' with check (' || r.checks || ')' else '' end);
  end loop;

  for r in
    select case when a.grantee = 0 then 'public' else format('%I', g.rolname) end as grantee,
           string_agg(a.privilege_type, ', ') as privs
    from pg_catalog.pg_class c
    cross join lateral aclexplode(c.relacl) a
    left join pg_catalog.pg_roles g on g.oid = a.grantee
    where c.oid = tbl and a.grantee <> c.relowner
    group by 1
  loop
    stmts := stmts || format('grant %s on %I.%I to %s', r.privs, nsp, rel, r.grantee);
  end loop;

  if (select c.relrowsecurity from pg_catalog.pg_class c where c.oid = tbl) then
    stmts := stmts || format('alter table %I.%I enable row level security', nsp, rel);
  end if;
  if (select c.relforcerowsecurity from pg_catalog.pg_class c where c.oid = tbl) then
    stmts := stmts || format('alter table %I.%I force row level security', nsp, rel);
  end if;
  if obj_description(tbl, 'pg_class') is not null then
    stmts := stmts || format('comment on table %I.%I is %L', nsp, rel, obj_description(tbl, 'pg_class'));
  end if;

  -- Swap: the old table steps aside (its indexes and constraints keep their names until it is dropped,
  -- so they are dropped with it first), the new one takes its name.
  execute format('alter table %s rename to %I', tbl, old_name);
  execute format(
    'create table %I.%I (like %I.%I including defaults including identity including generated'
    ' including constraints including comments including storage including compression including statistics)'
    ' partition by range (%I)', nsp, rel, nsp, old_name, key_column);
  new_tbl := format('%I.%I', nsp, rel)::regclass;

  execute format('create table %I.%I partition of %s default', nsp, rel || '_default', new_tbl);
  execute format('alter table %I.%I enable row level security', nsp, rel || '_default');
  execute format('alter table %I.%I force row level security', nsp, rel || '_default');
  execute format('select min(%I)::date from %I.%I', key_column, nsp, old_name) into first_month;
  first_month := least(coalesce(first_month, current_date), current_date);
  perform public.revos_ensure_month_partitions(
    new_tbl, first_month,
    ((extract(year from age(date_trunc('month', current_date), date_trunc('month', first_month))) * 12
      + extract(month from age(date_trunc('month', current_date), date_trunc('month', first_month))))::integer
     + months_ahead));

  select string_agg(format('%I', a.attname), ', ' order by a.attnum) into cols
  from pg_catalog.pg_attribute a
  where a.attrelid = new_tbl and a.attnum > 0 and not a.attisdropped and a.attgenerated = '';
  execute format('insert into %s (%s) overriding system value select %s from %I.%I',
                 new_tbl, cols, cols, nsp, old_name);

  -- Identity sequences carry on after the copied values.
  for r in
    select a.attname from pg_catalog.pg_attribute a
    where a.attrelid = new_tbl and a.attidentity <> '' and not a.attisdropped
  loop
    execute format('select setval(pg_get_serial_sequence(%L, %L), coalesce(max(%I), 0) + 1, false) from %s',
                   new_tbl::text, r.attname, r.attname, new_tbl);
  end loop;

  execute format('drop table %I.%I', nsp, old_name);
  foreach s in array stmts loop
    execute s;
  end loop;
  foreach s in array incoming loop
    execute s;
  end loop;
end;
$$;

revoke execute on function public.revos_partition_by_month(regclass, text, integer) from public;

select public.revos_partition_by_month('public.webhook_delivery_attempts', 'attempted_at');
