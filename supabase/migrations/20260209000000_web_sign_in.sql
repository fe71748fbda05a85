-- Sign-in for people (the dashboard under /app): passwords, server-side sessions, one-time links,
-- and the record of sign-in attempts that rate-limits them.
--
-- Passwords and sessions are secret material read before any tenant is known (a cookie, an email):
-- like encryption_keys, tenants hold no privilege on them and only the service role reads and writes
-- them (revos.identity). One-time links are created by an admin inside the RLS transaction that also
-- creates the invited user, so they are an ordinary tenant table; only their SHA-256 is stored.

-- A person's password (argon2id, pwdlib's encoded form). No row, or a null hash: the person has not set
-- a password yet (an invitation pending) and cannot sign in. `agency_staff`: the person signs in as
-- staff of their client's agency (every client of it, with a client switcher); only operators grant it.
create table public.user_credentials (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  user_id uuid not null unique references public.users (id) on delete cascade,
  password_hash text,
  password_changed_at timestamptz,
  agency_staff boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),

  constraint user_credentials_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id) on delete cascade on update cascade
);

create index idx_user_credentials_client on public.user_credentials (client_id);

create trigger update_user_credentials_updated_at before update on public.user_credentials
  for each row execute function public.update_updated_at_column();


-- A signed-in browser. The cookie holds a random token; the row holds its SHA-256. A session ends when
-- it expires, at logout, on a password change, when its user is deleted (cascade) and when the user's
-- role, client or token revocation changes (trigger below). `user_role` is the role it was opened with;
-- `agency_id` is set for an agency-staff session, whose current client is `active_client_id`.
create table public.web_sessions (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  user_id uuid not null references public.users (id) on delete cascade,
  token_hash bytea not null unique,
  user_role text not null check (user_role in ('admin', 'manager', 'member')),
  agency_id uuid references public.agencies (id) on delete cascade,
  active_client_id uuid references public.clients (id) on delete set null,
  ip text,
  user_agent text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,

  -- A user moved to another client takes the row along (and the trigger below ends the session).
  constraint web_sessions_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id) on delete cascade on update cascade
);

create index idx_web_sessions_client on public.web_sessions (client_id);
create index idx_web_sessions_user on public.web_sessions (user_id) where revoked_at is null;


-- One-time links: an invitation (the person chooses a password and is signed in) or a password reset.
create table public.user_tokens (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  user_id uuid not null references public.users (id) on delete cascade,
  purpose text not null check (purpose in ('invite', 'reset')),
  token_hash bytea not null unique,
  created_by uuid references public.users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,

  constraint user_tokens_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id) on delete cascade on update cascade,
  constraint user_tokens_created_by_client_fkey
    foreign key (created_by, client_id) references public.users (id, client_id) on delete set null (created_by)
);

create index idx_user_tokens_client on public.user_tokens (client_id);
create index idx_user_tokens_user on public.user_tokens (user_id);
create index idx_user_tokens_created_by on public.user_tokens (created_by);


-- Sign-in attempts, by account (SHA-256 of the lower-cased email, so addresses that are no account are
-- not kept in clear) and by client address. Read to refuse further attempts past the limits; rows older
-- than a day are deleted as new ones arrive. No client: it is no tenant's data.
create table public.sign_in_attempts (
  id uuid primary key default gen_random_uuid(),
  account_key text not null,
  ip text not null,
  succeeded boolean not null,
  attempted_at timestamptz not null default now()
);

create index idx_sign_in_attempts_account on public.sign_in_attempts (account_key, attempted_at);
create index idx_sign_in_attempts_ip on public.sign_in_attempts (ip, attempted_at);
create index idx_sign_in_attempts_time on public.sign_in_attempts (attempted_at);


-- Service-role-only tables: RLS on and forced, no policy, no privilege for tenants.
do $$
declare
  t text;
begin
  foreach t in array array['public.user_credentials', 'public.web_sessions', 'public.sign_in_attempts'] loop
    execute format('alter table %s enable row level security', t);
    execute format('alter table %s force row level security', t);
    execute format('revoke all on %s from anon, authenticated, public', t);
    execute format('grant select, insert, update, delete on %s to service_role', t);
  end loop;
end
$$;

select public.revos_apply_tenant_policies('public.user_tokens');

select public.revos_enable_audit(t)
from unnest(array[
  'public.user_credentials',
  'public.web_sessions',
  'public.user_tokens',
  'public.sign_in_attempts'
]::regclass[]) as t;


-- A person's sessions end when what they were opened for changes: the role (a demotion must not keep
-- admin pages open), the client, or a revocation of every token (POST /v1/users/{id}/revoke-tokens).
-- SECURITY DEFINER: the admin changing the role holds no privilege on web_sessions.
create or replace function public.revos_end_web_sessions()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.web_sessions
     set revoked_at = now(),
         revoked_reason = case
           when new.role is distinct from old.role then 'role changed'
           when new.client_id is distinct from old.client_id then 'client changed'
           else 'tokens revoked'
         end
   where user_id = new.id and revoked_at is null;
  return null;
end;
$$;

revoke execute on function public.revos_end_web_sessions() from public;

create trigger end_web_sessions after update of role, client_id, tokens_valid_after on public.users
  for each row
  when (new.role is distinct from old.role
        or new.client_id is distinct from old.client_id
        or new.tokens_valid_after is distinct from old.tokens_valid_after)
  execute function public.revos_end_web_sessions();
