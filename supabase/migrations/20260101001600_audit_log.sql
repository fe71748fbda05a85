-- Tamper-evident audit log of every mutation of tenant data.
--
-- One row per inserted, updated or deleted row: who (actor, actor_role), which client, which table and
-- row, which operation, and the names of the columns written. Never values: the log stays free of
-- personal data and secrets, and can be shown to the client whole.
--
-- Rows are hash-chained per client: seq counts 1, 2, 3 … within a client and
--   hash = sha256(prev_hash || utf8(revos_audit_canonical(<every other field>)))
-- with prev_hash = the previous row's hash (32 zero bytes for seq 1). Editing, deleting or reordering a
-- row breaks the chain at that point; revos.audit.verify recomputes it from outside the database.
--
-- Not partitioned by month like other logs: the (client_id, seq) key could not contain the partition key.

create table public.audit_log (
  id bigint generated always as identity primary key,
  client_id uuid not null, -- no foreign key: the trail must outlive a deleted client
  seq bigint not null check (seq > 0),
  occurred_at timestamptz not null,
  actor text not null,           -- the JWT `sub`, or 'system' outside a request
  actor_role text not null,      -- the JWT `user_role`, else `role`, else the database role
  table_name text not null,
  row_id text not null,
  operation text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
  changed_columns text[] not null,
  prev_hash bytea not null check (length(prev_hash) = 32),
  hash bytea not null check (length(hash) = 32),

  constraint audit_log_client_seq_key unique (client_id, seq)
);

create index idx_audit_log_row on public.audit_log (table_name, row_id);

-- The text that is hashed. Every field is length-prefixed (`<length>:<value>;`, length in characters)
-- so no value can be confused with a separator, and the timestamp is rendered in UTC to the
-- microsecond whatever the session's TimeZone or DateStyle. revos/audit/verify.py builds the same text.
create or replace function public.revos_audit_canonical(
  client_id uuid,
  seq bigint,
  occurred_at timestamptz,
  actor text,
  actor_role text,
  table_name text,
  row_id text,
  operation text,
  changed_columns text[]
)
returns text
language sql
stable
set search_path = ''
as $$
  select 'revos-audit-v1;' || string_agg(length(f) || ':' || f || ';', '' order by n)
  from unnest(array[
    client_id::text,
    seq::text,
    to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    actor,
    actor_role,
    table_name,
    row_id,
    operation,
    (select coalesce(string_agg(length(c) || ':' || c || ';', '' order by i), '')
       from unnest(changed_columns) with ordinality as cols (c, i))
  ]) with ordinality as fields (f, n)
$$;

-- The row trigger. SECURITY DEFINER: it writes audit_log, which tenants cannot write, so a tenant can
-- neither forge an entry nor skip one. Entries of one client are serialised by a transaction-scoped
-- advisory lock, which makes (seq, prev_hash) a true chain under concurrent writers.
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
begin
  if tg_op <> 'INSERT' then
    old_doc := to_jsonb(old);
  end if;
  if tg_op <> 'DELETE' then
    new_doc := to_jsonb(new);
  end if;
  v_row_id := coalesce(new_doc, old_doc) ->> 'id';

  -- Names of the columns written: set on insert, changed on update, present on delete.
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
  -- current_setting('role') is the caller's `set role` even inside this SECURITY DEFINER function.
  v_role := coalesce(claims ->> 'user_role', claims ->> 'role',
                     nullif(current_setting('role'), 'none'), session_user::text);

  -- clients is audited under its own id; a row moved between clients is logged in both chains;
  -- shared rows without a client (system cartridges) are not tenant data and are not chained.
  for v_client in
    select distinct c from unnest(array[
      case when tg_table_name = 'clients' then (old_doc ->> 'id')::uuid else (old_doc ->> 'client_id')::uuid end,
      case when tg_table_name = 'clients' then (new_doc ->> 'id')::uuid else (new_doc ->> 'client_id')::uuid end
    ]) as c
    where c is not null
    order by c
  loop
    -- 1920364403 = 'rvos': keeps these locks apart from other users of the advisory lock space.
    perform pg_advisory_xact_lock(1920364403, hashtext(v_client::text));

    select a.seq, a.hash into v_seq, v_prev
    from public.audit_log a
    where a.client_id = v_client
    order by a.seq desc
    limit 1;

    v_seq := coalesce(v_seq, 0) + 1;
    v_prev := coalesce(v_prev, decode(repeat('00', 32), 'hex'));

    insert into public.audit_log (
      client_id, seq, occurred_at, actor, actor_role, table_name, row_id, operation,
      changed_columns, prev_hash, hash
    ) values (
      v_client, v_seq, v_at, v_actor, v_role, tg_table_name, v_row_id, tg_op,
      v_columns, v_prev,
      sha256(v_prev || convert_to(public.revos_audit_canonical(
        v_client, v_seq, v_at, v_actor, v_role, tg_table_name, v_row_id, tg_op, v_columns
      ), 'UTF8'))
    );
  end loop;
  return null;
end;
$$;

revoke execute on function public.revos_audit_row() from public;

-- Puts a table under audit. Tables created later call it next to revos_apply_tenant_policies().
create or replace function public.revos_enable_audit(tbl regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('drop trigger if exists audit_row on %s', tbl);
  execute format(
    'create trigger audit_row after insert or update or delete on %s '
    'for each row execute function public.revos_audit_row()', tbl);
end;
$$;

revoke execute on function public.revos_enable_audit(regclass) from public;
