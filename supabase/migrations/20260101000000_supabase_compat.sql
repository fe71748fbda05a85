-- Supabase compatibility layer.
--
-- The schema is written for Supabase (RLS policies call auth.jwt(), requests run as the roles
-- `authenticated` / `service_role`). On a plain PostgreSQL (the embedded server, a managed instance)
-- those pieces do not exist, so this migration creates them, and only where missing: on Supabase
-- every statement below is a no-op and the platform's own definitions stay in charge.
--
-- Claims travel the way PostgREST passes them: `set_config('request.jwt.claims', <json>, true)` in the
-- request's transaction, next to `set local role authenticated`.

create extension if not exists vector;

create schema if not exists auth;

do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    -- Workers run as service_role and scope every query by client_id themselves.
    create role service_role nologin noinherit bypassrls;
  end if;
end
$$;

-- A non-superuser application login (a managed PostgreSQL) needs membership to `set local role`.
-- Superusers can switch to any role already, and Supabase sets its own grants up.
do $$
declare
  r text;
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    foreach r in array array['anon', 'authenticated', 'service_role'] loop
      if not pg_has_role(current_user, r, 'member') then
        execute format('grant %I to %I', r, current_user);
      end if;
    end loop;
  end if;
end
$$;

-- Claims of the current request, or null outside a request (workers, migrations, psql).
-- Same definition as Supabase's: the legacy single-claim setting first, then the claims object;
-- nullif because a setting reset at the end of a transaction reads back as '' rather than null.
do $$
begin
  if not exists (
    select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'jwt'
  ) then
    create function auth.jwt() returns jsonb
      language sql stable
      as $fn$
        select coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $fn$;
  end if;

  if not exists (
    select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'uid'
  ) then
    create function auth.uid() returns uuid
      language sql stable
      as $fn$
        select nullif(
          coalesce(current_setting('request.jwt.claim.sub', true), auth.jwt() ->> 'sub'),
          ''
        )::uuid
      $fn$;
  end if;

  if not exists (
    select from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = 'role'
  ) then
    create function auth.role() returns text
      language sql stable
      as $fn$
        select nullif(
          coalesce(current_setting('request.jwt.claim.role', true), auth.jwt() ->> 'role'),
          ''
        )::text
      $fn$;
  end if;
end
$$;

grant usage on schema auth to anon, authenticated, service_role;
grant execute on all functions in schema auth to anon, authenticated, service_role;

-- Table privileges are granted table by table when a table is put under the tenant policies
-- (revos_apply_tenant_policies), never by default privileges: a table nobody registered stays closed.
grant usage on schema public to anon, authenticated, service_role;
