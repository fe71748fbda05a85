-- The audit chain leaves the write path: writes append unchained entries, a sealer chains them.
--
-- Until now every audited row ran a deferred row trigger at commit: two to_jsonb, a jsonb diff, the
-- client's advisory lock, a look-up of the chain's last (seq, hash), the canonical text, sha256 and an
-- insert into audit_log. That was about half of PostgreSQL's CPU per LinkedIn action, and the lock made
-- every committing transaction of a client wait for the others.
--
-- Now:
--   * statement triggers with transition tables (`audit_insert`, `audit_update`, `audit_delete`) append
--     one entry per row to `audit_pending`, set-based, with the same who/what as before (actor and role
--     from the claims, the client: `clients` rows are their own, a row moved between clients is logged
--     for both; the names of the columns set, changed or present; never values). No lock, no chain.
--     A statement trigger on a partitioned table names the table itself, not a partition;
--   * `revos_audit_seal()` moves committed pending entries into audit_log, per client in pending-id
--     order under the client's advisory lock, continuing the chain from its last (seq, hash) or from
--     its retention anchor, with the same canonical text and hash: audit_log, its readers and
--     `revos audit verify` are unchanged. It deletes what it sealed in the same transaction;
--   * the worker seals every few seconds (`maintenance.seal_audit`), and every reader of the trail seals
--     (its client, or everything) before reading it.
--
-- Until it is sealed (at most the seal interval), an entry is protected by privileges alone: tenants
-- can neither read nor write audit_pending, and only the table owner can change it.
--
-- Not audited any more: rows moved by maintenance straight between partitions of one table (a new
-- month's partition taking its rows out of the default partition), which no statement on the table
-- itself did; they were logged as a delete and an insert of the same row before.


-- 1. Entries waiting for the chain ------------------------------------------------------------------

create table public.audit_pending (
  id bigint generated always as identity primary key,
  client_id uuid not null,
  occurred_at timestamptz not null,
  actor text not null,
  actor_role text not null,
  table_name text not null,
  row_id text not null,
  operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  changed_columns text[] not null
);

-- A reader seals its own client first: its entries in order, without reading anybody else's.
create index idx_audit_pending_client on public.audit_pending (client_id, id);

alter table public.audit_pending enable row level security;
alter table public.audit_pending force row level security;
revoke all on public.audit_pending from anon, authenticated, public;
-- The service role may look (operations: how far behind is the sealer); nobody but the owner writes.
revoke all on public.audit_pending from service_role;
grant select on public.audit_pending to service_role;


-- 2. The statement trigger -------------------------------------------------------------------------

-- SECURITY DEFINER: it writes audit_pending, which tenants cannot write. Static statements over the
-- transition tables `o` and `n` are planned once per trigger and reused.
create or replace function public.revos_audit_statement()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  claims jsonb;
  v_actor text;
  v_role text;
  v_at timestamptz;
  v_table text := tg_table_name;
  v_key text := case when tg_table_name = 'clients' then 'id' else 'client_id' end;
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
    select (r.d ->> v_key)::uuid, v_at, v_actor, v_role, v_table, r.d ->> 'id', 'INSERT',
           array(select k from jsonb_object_keys(jsonb_strip_nulls(r.d)) k order by k collate "C")
    from (select to_jsonb(n) as d from n offset 0) r
    where r.d ->> v_key is not null;
  elsif tg_op = 'DELETE' then
    insert into public.audit_pending (
      client_id, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns
    )
    select (r.d ->> v_key)::uuid, v_at, v_actor, v_role, v_table, r.d ->> 'id', 'DELETE',
           array(select k from jsonb_object_keys(jsonb_strip_nulls(r.d)) k order by k collate "C")
    from (select to_jsonb(o) as d from o offset 0) r
    where r.d ->> v_key is not null;
  else
    -- Old and new versions of a row meet on its id; a row whose id itself changed is logged as two
    -- updates, each naming the columns its one version holds.
    insert into public.audit_pending (
      client_id, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns
    )
    select u.client_id, v_at, v_actor, v_role, v_table, r.row_id, 'UPDATE', r.cols
    from (
      select coalesce(j.nd, j.od) ->> 'id' as row_id,
             (j.od ->> v_key)::uuid as oc, (j.nd ->> v_key)::uuid as nc,
             case
               when j.od is null or j.nd is null then
                 array(select k from jsonb_object_keys(jsonb_strip_nulls(coalesce(j.nd, j.od))) k
                       order by k collate "C")
               else
                 array(select e.key from jsonb_each(j.nd) e where e.value is distinct from (j.od -> e.key)
                       order by e.key collate "C")
             end as cols
      -- offset 0: each version is turned into jsonb once, not at every reference below.
      from (select to_jsonb(o) as od, to_jsonb(n) as nd from o full join n on n.id = o.id offset 0) j
    ) r
    -- A row moved between clients is logged in both chains.
    cross join lateral unnest(
      case when r.oc <> r.nc then array[r.oc, r.nc] else array[coalesce(r.nc, r.oc)] end
    ) as u (client_id)
    where u.client_id is not null;
  end if;
  return null;
end;
$$;

revoke execute on function public.revos_audit_statement() from public;

-- The row variant, for a table without an `id` column (statement triggers pair old and new versions of
-- a row by id): one entry per row, the row named by its primary key. No table needs it today.
create or replace function public.revos_audit_row_pending()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  claims jsonb := auth.jwt();
  old_doc jsonb;
  new_doc jsonb;
  v_doc jsonb;
  v_row_id text;
  v_columns text[];
  v_table text := tg_table_name;
begin
  if tg_op <> 'INSERT' then
    old_doc := to_jsonb(old);
  end if;
  if tg_op <> 'DELETE' then
    new_doc := to_jsonb(new);
  end if;
  v_doc := coalesce(new_doc, old_doc);
  if v_table ~ '_(p\d{6}|default)$' then
    select c.relname into v_table from pg_catalog.pg_class c
    where c.oid = coalesce(pg_catalog.pg_partition_root(tg_relid), tg_relid);
  end if;
  select coalesce(v_doc ->> 'id', string_agg(v_doc ->> a.attname, ',' order by k.n), '') into v_row_id
  from pg_catalog.pg_index i
  cross join lateral unnest(i.indkey) with ordinality as k (attnum, n)
  join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = tg_relid and i.indisprimary;

  if tg_op = 'UPDATE' then
    v_columns := array(select e.key from jsonb_each(new_doc) e where e.value is distinct from (old_doc -> e.key)
                       order by e.key collate "C");
  else
    v_columns := array(select k from jsonb_object_keys(jsonb_strip_nulls(v_doc)) k order by k collate "C");
  end if;

  insert into public.audit_pending (
    client_id, occurred_at, actor, actor_role, table_name, row_id, operation, changed_columns
  )
  select c.client_id, clock_timestamp(), coalesce(claims ->> 'sub', 'system'),
         coalesce(claims ->> 'user_role', claims ->> 'role', nullif(current_setting('role'), 'none'),
                  session_user::text),
         v_table, coalesce(v_row_id, ''), tg_op, v_columns
  from (
    select distinct x as client_id from unnest(array[
      case when v_table = 'clients' then (old_doc ->> 'id')::uuid else (old_doc ->> 'client_id')::uuid end,
      case when v_table = 'clients' then (new_doc ->> 'id')::uuid else (new_doc ->> 'client_id')::uuid end
    ]) as x
    where x is not null
  ) c;
  return null;
end;
$$;

revoke execute on function public.revos_audit_row_pending() from public;

-- Puts a table under audit (tables created later call it next to revos_apply_tenant_policies()):
-- statement triggers when the table has an `id` column, the row variant otherwise.
create or replace function public.revos_enable_audit(tbl regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('drop trigger if exists audit_row on %s', tbl);
  execute format('drop trigger if exists audit_insert on %s', tbl);
  execute format('drop trigger if exists audit_update on %s', tbl);
  execute format('drop trigger if exists audit_delete on %s', tbl);
  if exists (select from pg_catalog.pg_attribute a
             where a.attrelid = tbl and a.attname = 'id' and a.attnum > 0 and not a.attisdropped) then
    execute format(
      'create trigger audit_insert after insert on %s referencing new table as n '
      'for each statement execute function public.revos_audit_statement()', tbl);
    execute format(
      'create trigger audit_update after update on %s referencing old table as o new table as n '
      'for each statement execute function public.revos_audit_statement()', tbl);
    execute format(
      'create trigger audit_delete after delete on %s referencing old table as o '
      'for each statement execute function public.revos_audit_statement()', tbl);
  else
    execute format(
      'create trigger audit_row after insert or update or delete on %s '
      'for each row execute function public.revos_audit_row_pending()', tbl);
  end if;
end;
$$;

revoke execute on function public.revos_enable_audit(regclass) from public;

-- Every table audited until now moves to the new triggers (partitions follow their root).
do $$
declare
  t regclass;
begin
  for t in
    select tr.tgrelid::regclass from pg_catalog.pg_trigger tr
    where tr.tgname = 'audit_row' and tr.tgfoid = 'public.revos_audit_row()'::regprocedure
      and tr.tgparentid = 0
    order by tr.tgrelid
  loop
    perform public.revos_enable_audit(t);
  end loop;
end;
$$;

drop function public.revos_audit_row();


-- 3. The sealer ------------------------------------------------------------------------------------

-- The chain as a running aggregate: over entries in seq order, each row's value is
--   sha256(previous value, or `genesis` for the first row || utf8(canonical text))
-- i.e. the entry's hash when `genesis` is the chain's head hash.
create or replace function public.revos_audit_chain_step(state bytea, canonical text, genesis bytea)
returns bytea
language plpgsql
immutable
as $$
begin
  return pg_catalog.sha256(coalesce(state, genesis) || pg_catalog.convert_to(canonical, 'UTF8'));
end;
$$;

create aggregate public.revos_audit_chain(text, bytea) (
  sfunc = public.revos_audit_chain_step,
  stype = bytea
);

-- Moves up to `p_limit` committed pending entries into the chain; returns how many.
--
-- `p_client`: that client only, waiting for its lock if another sealer (or retention) holds it, so the
-- caller's own committed entries are sealed when it returns. Without: the clients of the oldest
-- pending entries, each skipped while another sealer holds it (that one seals them). Tenants
-- (`authenticated`) seal only their own client(s).
--
-- Why concurrent sealers cannot break or duplicate a chain: a client's entries are read, chained,
-- inserted and deleted only under the client's advisory lock (the one retention takes too), and read
-- after taking it, in a statement whose snapshot (READ COMMITTED) sees what the sealer before committed:
-- the chain's head and the entries it already removed; and it appends exactly the entries it deleted.
-- Should a caller run this in a REPEATABLE READ transaction begun before another sealer committed, the
-- unique (client_id, seq) key or a serialization failure on the deleted rows stops it with an error.
create or replace function public.revos_audit_seal(p_client uuid default null, p_limit integer default 20000)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_tenant boolean := current_setting('role') in ('authenticated', 'anon');
  v_allowed uuid[];
  v_clients uuid[];
  v_client uuid;
  v_left integer := greatest(coalesce(p_limit, 20000), 0);
  v_sealed integer := 0;
  v_seq bigint;
  v_prev bytea;
  v_n integer;
begin
  if v_tenant then
    v_allowed := coalesce(public.revos_tenant_client_ids(), '{}');
    if p_client is not null and not (p_client = any (v_allowed)) then
      raise insufficient_privilege using message = 'no access to this client''s audit trail';
    end if;
  end if;

  if p_client is not null then
    v_clients := array[p_client];
  else
    select coalesce(array_agg(distinct q.client_id), '{}') into v_clients
    from (
      select p.client_id from public.audit_pending p
      where not v_tenant or p.client_id = any (v_allowed)
      order by p.id
      limit v_left
    ) q;
  end if;

  foreach v_client in array v_clients loop
    exit when v_left <= 0;
    -- 1920364403 = 'rvos': the chain's lock (20260101001600), taken by retention too.
    if p_client is not null then
      perform pg_advisory_xact_lock(1920364403, hashtext(v_client::text));
    elsif not pg_try_advisory_xact_lock(1920364403, hashtext(v_client::text)) then
      continue;
    end if;

    select a.seq, a.hash into v_seq, v_prev
    from public.audit_log a
    where a.client_id = v_client
    order by a.seq desc
    limit 1;
    -- After a retention purge took every row of a client, the chain goes on from its anchor.
    if v_seq is null then
      select an.seq, an.hash into v_seq, v_prev from public.audit_anchors an where an.client_id = v_client;
    end if;
    v_seq := coalesce(v_seq, 0);
    v_prev := coalesce(v_prev, decode(repeat('00', 32), 'hex'));

    -- One statement: the entries are taken out of audit_pending (exactly those this statement sees
    -- committed, the oldest first), numbered after the chain's head, hashed in order by the running
    -- aggregate revos_audit_chain and appended. The canonical text is revos_audit_canonical's
    -- (20260101001600) written out: that function sets its search_path and so is called, not inlined,
    -- which cost more than the rest of sealing together.
    with gone as (
      delete from public.audit_pending p
      where p.id in (select x.id from public.audit_pending x where x.client_id = v_client
                     order by x.id limit v_left)
      returning p.*
    ), numbered as (
      select g.*, v_seq + row_number() over (order by g.id) as seq from gone g
    ), canonical as (
      select n.*,
             'revos-audit-v1;'
             || length(n.f1) || ':' || n.f1 || ';' || length(n.f2) || ':' || n.f2 || ';'
             || length(n.f3) || ':' || n.f3 || ';' || length(n.actor) || ':' || n.actor || ';'
             || length(n.actor_role) || ':' || n.actor_role || ';'
             || length(n.table_name) || ':' || n.table_name || ';'
             || length(n.row_id) || ':' || n.row_id || ';' || length(n.operation) || ':' || n.operation || ';'
             || length(n.f9) || ':' || n.f9 || ';' as text
      from (
        select m.*, v_client::text as f1, m.seq::text as f2,
               to_char(m.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as f3,
               coalesce((select string_agg(length(c.c) || ':' || c.c || ';', '' order by c.i)
                         from unnest(m.changed_columns) with ordinality as c (c, i)), '') as f9
        from numbered m
        offset 0 -- each field computed once
      ) n
    ), chained as (
      select c.*, public.revos_audit_chain(c.text, v_prev) over (order by c.seq rows unbounded preceding) as h
      from canonical c
    )
    insert into public.audit_log (
      client_id, seq, occurred_at, actor, actor_role, table_name, row_id, operation,
      changed_columns, prev_hash, hash
    )
    select v_client, ch.seq, ch.occurred_at, ch.actor, ch.actor_role, ch.table_name, ch.row_id, ch.operation,
           ch.changed_columns, coalesce(lag(ch.h) over (order by ch.seq), v_prev), ch.h
    from chained ch
    order by ch.seq;
    get diagnostics v_n = row_count;

    v_sealed := v_sealed + v_n;
    v_left := v_left - v_n;
  end loop;
  return v_sealed;
end;
$$;

revoke execute on function public.revos_audit_seal(uuid, integer) from public;
grant execute on function public.revos_audit_seal(uuid, integer) to authenticated, service_role;
