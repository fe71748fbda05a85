-- Tenancy: agencies → clients → users.
--
-- A client is the tenant: every tenant-scoped table carries client_id. Agencies sit above clients and
-- are reached through them (agency staff see all clients of their agency, see the RLS migration).

create table public.agencies (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text unique not null,
  settings jsonb default '{}',
  subscription_tier text default 'starter',
  subscription_status text default 'active',
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create index idx_agencies_slug on public.agencies (slug);

create trigger update_agencies_updated_at before update on public.agencies
  for each row execute function public.update_updated_at_column();


create table public.clients (
  id uuid primary key default gen_random_uuid(),
  -- Nullable as in the spec: a self-hosted install may run a single client without an agency.
  agency_id uuid references public.agencies (id) on delete cascade,
  name text not null,
  company_name text,
  industry text,
  website text,
  settings jsonb default '{}',
  subscription_tier text default 'basic',
  subscription_status text default 'active',
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (agency_id, name)
);

create index idx_clients_agency on public.clients (agency_id);

create trigger update_clients_updated_at before update on public.clients
  for each row execute function public.update_updated_at_column();


create table public.users (
  id uuid primary key default gen_random_uuid(),
  -- NOT NULL (the spec allows null): a user always belongs to exactly one client.
  client_id uuid not null references public.clients (id) on delete cascade,
  email text unique not null,
  first_name text,
  last_name text,
  role text check (role in ('admin', 'manager', 'member')) default 'member',
  avatar_url text,
  settings jsonb default '{}',
  last_login_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  -- Target of the composite foreign keys that keep children in the same client.
  constraint users_id_client_id_key unique (id, client_id)
);

create index idx_users_client on public.users (client_id);
create index idx_users_email on public.users (email);

create trigger update_users_updated_at before update on public.users
  for each row execute function public.update_updated_at_column();
