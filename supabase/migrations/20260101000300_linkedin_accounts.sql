-- LinkedIn accounts connected through Unipile.
--
-- The spec's `ENCRYPTED` is not SQL. Credentials are bytea ciphertext written by the application
-- (AES-256-GCM, per-client data key wrapped by the master key; the AAD binds table, column and row),
-- so neither a database dump nor a tenant with SQL access ever sees them in clear.

create table public.linkedin_accounts (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  user_id uuid references public.users (id) on delete cascade,
  account_name text not null,
  linkedin_email bytea not null,    -- ENCRYPTED in the spec
  linkedin_password bytea not null, -- ENCRYPTED in the spec
  unipile_account_id text unique,
  unipile_session bytea,            -- ENCRYPTED jsonb in the spec: ciphertext of the JSON document
  session_expires_at timestamptz,
  profile_data jsonb,
  status text check (status in ('active', 'expired', 'error')) default 'active',
  last_sync_at timestamptz,
  rate_limit_reset_at timestamptz,
  daily_dm_count integer default 0,
  daily_post_count integer default 0,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (user_id, account_name),
  constraint linkedin_accounts_id_client_id_key unique (id, client_id),
  constraint linkedin_accounts_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id)
);

create index idx_linkedin_accounts_user on public.linkedin_accounts (user_id);
create index idx_linkedin_accounts_status on public.linkedin_accounts (status);
create index idx_linkedin_accounts_client on public.linkedin_accounts (client_id);

create trigger fill_client_id before insert on public.linkedin_accounts
  for each row execute function public.revos_fill_client_id('user_id', 'users');

create trigger update_linkedin_accounts_updated_at before update on public.linkedin_accounts
  for each row execute function public.update_updated_at_column();
