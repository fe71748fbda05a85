-- Data keys per purpose, and the only door through which a tenant request reaches them.
--
-- LinkedIn credentials are encrypted twice: an inner layer under the client's `credentials` key,
-- an outer one under its `data` key. Each purpose has its own versions and one active key.
--
-- API requests run as `authenticated`, which has no privilege on encryption_keys at all. The two
-- SECURITY DEFINER functions below hand out (wrapped) key rows only for a client the caller's
-- claims reach, the same rule the tenant policies apply. Wrapped keys are useless without the
-- master key, which never enters the database; the check keeps tenants from even enumerating them.

alter table public.encryption_keys
  add column purpose text not null default 'data' check (purpose in ('data', 'credentials'));

alter table public.encryption_keys drop constraint encryption_keys_client_version_key;
alter table public.encryption_keys
  add constraint encryption_keys_client_purpose_version_key unique (client_id, purpose, key_version);

drop index public.idx_encryption_keys_one_active;
create unique index idx_encryption_keys_one_active on public.encryption_keys (client_id, purpose) where active;

create or replace function public.revos_may_use_client_keys(p_client uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select case
    -- `role` is the role set by `set local role`; a security definer function does not change it.
    when current_setting('role') in ('authenticated', 'anon') then
      p_client = (auth.jwt() ->> 'client_id')::uuid
      or p_client = any (public.revos_agency_client_ids())
    else true
  end
$$;

create or replace function public.revos_data_keys(p_client uuid, p_purpose text)
returns table (client_id uuid, purpose text, key_version integer, wrapped_key bytea, master_key_id text,
               active boolean)
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not public.revos_may_use_client_keys(p_client) then
    raise insufficient_privilege using message = 'no access to this client''s keys';
  end if;
  return query
    select k.client_id, k.purpose, k.key_version, k.wrapped_key, k.master_key_id, k.active
    from public.encryption_keys k
    where k.client_id = p_client and k.purpose = p_purpose;
end
$$;

-- Creates the first active key of a purpose; a concurrent creator loses quietly and re-reads.
create or replace function public.revos_create_data_key(
  p_client uuid, p_purpose text, p_version integer, p_wrapped bytea, p_master_key_id text
)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  inserted integer;
begin
  if not public.revos_may_use_client_keys(p_client) then
    raise insufficient_privilege using message = 'no access to this client''s keys';
  end if;
  insert into public.encryption_keys (client_id, purpose, key_version, wrapped_key, master_key_id, active)
  values (p_client, p_purpose, p_version, p_wrapped, p_master_key_id, true)
  on conflict do nothing;
  get diagnostics inserted = row_count;
  return inserted > 0;
end
$$;

revoke execute on function public.revos_data_keys(uuid, text) from public;
revoke execute on function public.revos_create_data_key(uuid, text, integer, bytea, text) from public;
revoke execute on function public.revos_may_use_client_keys(uuid) from public;
grant execute on function public.revos_data_keys(uuid, text) to authenticated, service_role;
grant execute on function public.revos_create_data_key(uuid, text, integer, bytea, text)
  to authenticated, service_role;
grant execute on function public.revos_may_use_client_keys(uuid) to authenticated, service_role;
