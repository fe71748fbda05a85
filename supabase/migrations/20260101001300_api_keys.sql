-- Per-client API keys: random, shown once, stored as a SHA-256 hash, scoped, revocable.
--
-- A key reads `<key_prefix><secret>`; key_prefix is stored in clear (unique) so a presented key is
-- found by index and then compared by hash. The full key never reaches the database.

create table public.api_keys (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null,
  key_prefix text not null unique,
  key_hash text not null check (key_hash ~ '^[0-9a-f]{64}$'), -- sha256 hex of the full key
  role text check (role in ('admin', 'manager', 'member')) default 'member',
  scopes text[] default '{}',
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,

  constraint api_keys_created_by_client_fkey
    foreign key (created_by, client_id) references public.users (id, client_id)
);

create index idx_api_keys_client on public.api_keys (client_id);
create index idx_api_keys_created_by on public.api_keys (created_by);
