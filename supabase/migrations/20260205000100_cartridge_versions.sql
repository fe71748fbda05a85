-- Voice cartridges as a product (revos.cartridges): tier rules in the schema, one active cartridge per
-- owner, a skill name for skill cartridges, parent cycles refused, and every change kept as a version.

-- Tier rules: a workspace cartridge is the client's (no user), a user cartridge names its user, a skill
-- cartridge names its skill (and may name a user). System cartridges already have neither client nor user.
alter table public.cartridges add column skill text;
alter table public.cartridges add column version integer not null default 1;

alter table public.cartridges
  add constraint cartridges_tier_user_check
    check ((tier <> 'workspace' or user_id is null) and (tier <> 'user' or user_id is not null)),
  add constraint cartridges_skill_check
    check ((tier = 'skill') = (skill is not null) and (skill is null or skill ~ '^[a-z][a-z0-9_]{0,49}$')),
  -- Target of the versions' composite key, which keeps a version in its cartridge's client.
  add constraint cartridges_id_client_id_key unique (id, client_id);

comment on column public.cartridges.skill is 'the skill a skill-tier cartridge is for (copywriting, voice, ...)';
comment on column public.cartridges.version is 'bumped by every change of the row; each version is kept';

-- resolve_for() picks "the" cartridge of an owner: at most one active per client, tier, user and skill.
create unique index idx_cartridges_one_active on public.cartridges (
  client_id, tier, coalesce(user_id, '00000000-0000-0000-0000-000000000000'::uuid), coalesce(skill, '')
) where active and client_id is not null;


-- Beside the parent guard (20260101001000): a parent whose chain leads back to the row is a cycle. The
-- application refuses it first with a 409 naming the cycle; this is the backstop.
create or replace function public.revos_refuse_cartridge_cycle()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  cursor_id uuid := new.parent_cartridge_id;
  steps integer := 0;
begin
  while cursor_id is not null and steps <= 64 loop
    if cursor_id = new.id then
      raise exception 'cartridge % would inherit from itself', new.id
        using errcode = 'check_violation', constraint = 'cartridges_no_cycle';
    end if;
    steps := steps + 1;
    select c.parent_cartridge_id into cursor_id from public.cartridges c where c.id = cursor_id;
  end loop;
  return new;
end;
$$;

-- Sorts after guard_parent_cartridge (BEFORE triggers fire in name order).
create trigger guard_parent_cartridge_cycle before update of parent_cartridge_id on public.cartridges
  for each row execute function public.revos_refuse_cartridge_cycle();


-- Versions: the whole row after each change, its number, what kind of change, who made it and when.
create table public.cartridge_versions (
  id uuid primary key default gen_random_uuid(),
  cartridge_id uuid not null references public.cartridges (id) on delete cascade,
  -- null for the versions of system cartridges, like the cartridge itself
  client_id uuid references public.clients (id) on delete cascade,
  version integer not null,
  change text not null check (change in ('create', 'update', 'generate')),
  snapshot jsonb not null,
  changed_by text not null,
  created_at timestamptz not null default now(),

  constraint cartridge_versions_cartridge_id_version_key unique (cartridge_id, version),
  constraint cartridge_versions_client_required_check
    check (client_id is not null or snapshot ->> 'tier' = 'system'),
  constraint cartridge_versions_cartridge_client_fkey
    foreign key (cartridge_id, client_id) references public.cartridges (id, client_id) on delete cascade
);

create index idx_cartridge_versions_client on public.cartridge_versions (client_id, created_at desc);

-- Versions are written by the database alone (below): tenants read their own and the system ones.
select public.revos_apply_tenant_policies(
  'public.cartridge_versions', shared_rows => 'client_id is null');
revoke insert, update, delete on public.cartridge_versions from authenticated;
select public.revos_enable_audit('public.cartridge_versions');


-- A change of anything but the bookkeeping columns bumps the version.
create or replace function public.revos_bump_cartridge_version()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    new.version := 1;
  elsif (to_jsonb(new) - 'version' - 'updated_at') is distinct from (to_jsonb(old) - 'version' - 'updated_at') then
    new.version := old.version + 1;
  else
    new.version := old.version;
  end if;
  return new;
end;
$$;

-- Named to sort after the other BEFORE triggers (fill_client_id, guard_parent_cartridge, update_...).
create trigger version_cartridge before insert or update on public.cartridges
  for each row execute function public.revos_bump_cartridge_version();

-- SECURITY DEFINER: tenants cannot write versions themselves, so none can be forged or skipped. The kind
-- of change is the transaction-local setting revos.cartridge_change when the application set one.
create or replace function public.revos_record_cartridge_version()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' and new.version = old.version then
    return null;
  end if;
  insert into public.cartridge_versions (cartridge_id, client_id, version, change, snapshot, changed_by)
  values (
    new.id,
    new.client_id,
    new.version,
    coalesce(nullif(current_setting('revos.cartridge_change', true), ''),
             case when tg_op = 'INSERT' then 'create' else 'update' end),
    to_jsonb(new),
    coalesce(auth.jwt() ->> 'sub', 'system')
  );
  return null;
end;
$$;

create trigger record_cartridge_version after insert or update on public.cartridges
  for each row execute function public.revos_record_cartridge_version();

-- The seeded system cartridges start with their first version too.
insert into public.cartridge_versions (cartridge_id, client_id, version, change, snapshot, changed_by)
select c.id, c.client_id, c.version, 'create', to_jsonb(c), 'system'
from public.cartridges c
where not exists (select from public.cartridge_versions v where v.cartridge_id = c.id);
