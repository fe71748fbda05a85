-- Voice and knowledge cartridges, four tiers with inheritance: system → workspace → user → skill.
--
-- System cartridges are shared by every client: they are the only rows of a tenant table with a
-- null client_id (the check below), readable by everyone and writable by the service role only.

create table public.cartridges (
  id uuid primary key default gen_random_uuid(),
  client_id uuid references public.clients (id) on delete cascade,
  user_id uuid references public.users (id),
  tier text check (tier in ('system', 'workspace', 'user', 'skill')) not null,
  name text not null,
  description text,

  -- Voice parameters
  voice jsonb default '{}', -- tone, style, personality, vocabulary, etc.

  -- Knowledge base
  knowledge jsonb default '{}', -- industry, expertise, values

  -- Auto-generation settings
  auto_generate boolean default false,
  source_posts_count integer, -- number of posts analysed

  -- Inheritance
  parent_cartridge_id uuid references public.cartridges (id),

  active boolean default true,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  constraint cartridges_client_required_check
    check (client_id is not null or (tier = 'system' and user_id is null)),
  constraint cartridges_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id)
);

create index idx_cartridges_client on public.cartridges (client_id);
create index idx_cartridges_user on public.cartridges (user_id);
create index idx_cartridges_tier on public.cartridges (tier);
create index idx_cartridges_parent on public.cartridges (parent_cartridge_id);
-- The seed (and the application) look system cartridges up by name.
create unique index idx_cartridges_system_name on public.cartridges (name) where client_id is null;

create trigger fill_client_id before insert on public.cartridges
  for each row execute function public.revos_fill_client_id('user_id', 'users');

create trigger update_cartridges_updated_at before update on public.cartridges
  for each row execute function public.update_updated_at_column();

-- A cartridge inherits from a system cartridge or from one of its own client. A composite foreign key
-- cannot say "same client or none", so a trigger does. It runs with the caller's rights: a tenant
-- naming another tenant's cartridge does not see it and gets the same error as for a missing one.
create or replace function public.revos_check_cartridge_parent()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  parent_client uuid;
begin
  if new.parent_cartridge_id is null then
    return new;
  end if;
  select c.client_id into parent_client from public.cartridges c where c.id = new.parent_cartridge_id;
  if not found then
    raise exception 'parent cartridge % not found', new.parent_cartridge_id
      using errcode = 'foreign_key_violation';
  end if;
  if parent_client is not null and parent_client is distinct from new.client_id then
    raise exception 'cartridge may only inherit from a system cartridge or one of its own client'
      using errcode = 'foreign_key_violation';
  end if;
  return new;
end;
$$;

-- Named to sort after fill_client_id: BEFORE triggers fire in name order, and the check needs client_id.
create trigger guard_parent_cartridge before insert or update of parent_cartridge_id, client_id
  on public.cartridges
  for each row execute function public.revos_check_cartridge_parent();
