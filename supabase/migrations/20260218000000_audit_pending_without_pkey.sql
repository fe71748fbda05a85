-- audit_pending loses its primary key's index.
--
-- The sealer's queue takes about ten entries per LinkedIn action (9.7 million in the replayed day at the
-- spec's scale) and gives each back within seconds. Every entry cost two index insertions and, until
-- autovacuum came by, two dead index entries; autovacuum went through both indexes in full about once a
-- minute, and after a backlog (the start of a busy day) they stayed at their largest (183 MB for a
-- thousand live entries, twelve minutes into that day). Nothing looks an entry up by its id: the sealer
-- and every reader go through `idx_audit_pending_client (client_id, id)`, and retention, backups and
-- `revos status` read the table whole. The one statement that ordered by id over all clients (the
-- sealer without a client: the clients of the oldest pending entries) walks the clients on the client
-- index instead (one probe per client with entries waiting) and takes them in the order of their oldest
-- entry, each up to what is left of `p_limit`, as before. Sorting the waiting entries by id instead
-- would read all of them for every batch: sealing a backlog of two million entries took 57 s instead
-- of 34 s that way.
--
-- `id` stays an identity column (the order of a client's entries); it is unique by construction, and the
-- table is published, if ever, with its whole row as its identity.

alter table public.audit_pending drop constraint audit_pending_pkey;
alter table public.audit_pending replica identity full;

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
    -- The clients with entries waiting, found by walking idx_audit_pending_client from one client to
    -- the next (a probe each), taken in the order of their oldest waiting entry.
    with recursive c (client_id) as (
      (select p.client_id from public.audit_pending p order by p.client_id limit 1)
      union all
      select (select p.client_id from public.audit_pending p where p.client_id > c.client_id
              order by p.client_id limit 1)
      from c
      where c.client_id is not null
    )
    select coalesce(array_agg(c.client_id order by (select min(p.id) from public.audit_pending p
                                                    where p.client_id = c.client_id)), '{}')
      into v_clients
    from c
    where c.client_id is not null and (not v_tenant or c.client_id = any (v_allowed));
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
      where p.client_id = v_client
        and p.id <= (select max(x.id) from (select y.id from public.audit_pending y where y.client_id = v_client
                                            order by y.id limit v_left) x)
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
