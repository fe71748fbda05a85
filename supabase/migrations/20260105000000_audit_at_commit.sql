-- Audit entries are written when the transaction commits, not at each write.
--
-- The chain of a client is serialised by a transaction-scoped advisory lock (20260101001600). Taken at
-- the first audited write, that lock was held for the rest of the transaction, so every writing
-- transaction of a client queued behind the others, and a transaction that wrote and then locked a row
-- could deadlock with one that had locked the row and then wrote. As deferred constraint triggers, the
-- entries are appended at commit, after all of the transaction's own work: the lock is held for the
-- appends only, and a transaction holding it never waits for a row lock. Entries keep their order
-- (deferred triggers fire in event order) and each one still describes its own write (a deferred row
-- trigger sees the row versions of its event).

create or replace function public.revos_enable_audit(tbl regclass)
returns void
language plpgsql
set search_path = ''
as $$
begin
  execute format('drop trigger if exists audit_row on %s', tbl);
  execute format(
    'create constraint trigger audit_row after insert or update or delete on %s '
    'deferrable initially deferred '
    'for each row execute function public.revos_audit_row()', tbl);
end;
$$;

revoke execute on function public.revos_enable_audit(regclass) from public;

do $$
declare
  tables regclass[];
  t regclass;
begin
  select array_agg(tr.tgrelid::regclass order by tr.tgrelid) into tables
  from pg_trigger tr
  where tr.tgname = 'audit_row' and tr.tgfoid = 'public.revos_audit_row()'::regprocedure;
  foreach t in array coalesce(tables, '{}') loop
    perform public.revos_enable_audit(t);
  end loop;
end;
$$;
