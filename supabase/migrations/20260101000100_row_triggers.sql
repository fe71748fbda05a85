-- Row-level trigger functions shared by every table: updated_at stamping and client_id inheritance.

-- The spec's function, unchanged: stamps updated_at on every update.
create or replace function public.update_updated_at_column()
returns trigger
language plpgsql
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

-- Every tenant-scoped table carries client_id, kept equal to its parent's by a composite foreign key
-- `(parent_id, client_id) references parent (id, client_id)`. This BEFORE INSERT trigger lets an
-- insert omit client_id: it is copied from the first non-null parent named in the trigger arguments,
-- given as pairs (fk column, parent table):
--
--   execute function public.revos_fill_client_id('campaign_id', 'campaigns', 'linkedin_account_id', 'linkedin_accounts')
--
-- It runs with the caller's rights on purpose: a tenant session only finds parents it can see under
-- RLS, so naming another tenant's parent leaves client_id null and the insert fails on NOT NULL
-- instead of being filled with the other tenant's id. An explicit client_id is never overwritten;
-- a wrong one is rejected by the composite foreign key.
create or replace function public.revos_fill_client_id()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  i int := 0;
  parent_id text;
  parent_client uuid;
begin
  if new.client_id is not null then
    return new;
  end if;
  while i + 1 < tg_nargs loop
    parent_id := to_jsonb(new) ->> tg_argv[i];
    if parent_id is not null then
      execute format('select client_id from public.%I where id = $1::uuid', tg_argv[i + 1])
        into parent_client
        using parent_id;
      if parent_client is not null then
        new.client_id := parent_client;
        return new;
      end if;
    end if;
    i := i + 2;
  end loop;
  return new;
end;
$$;
