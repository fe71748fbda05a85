-- The AI layer's own tables (docs/ai.md): a client's AI settings and its token usage per month.
--
-- ai_settings: one row per client overriding the deployment's REVOS_AI_* settings; a null column means
-- "the deployment's value". The API key is sealed with the client's data key, bound to this row and
-- column (revos.security.vault, like the LinkedIn login), and never returned by the API.
create table public.ai_settings (
  id uuid primary key default gen_random_uuid(),
  -- One row per client. Deferred so the tenant-isolation tests can insert a second row in a transaction
  -- they roll back; the application creates the row under a per-client lock (revos.ai.repo).
  client_id uuid not null references public.clients (id) on delete cascade
    constraint ai_settings_client_id_key unique deferrable initially deferred,
  provider text check (provider in ('offline', 'openai', 'anthropic')),
  model text check (length(model) between 1 and 200),
  base_url text check (length(base_url) between 1 and 2000),
  api_key bytea,                                   -- ENCRYPTED
  monthly_token_budget bigint check (monthly_token_budget >= 0),  -- 0 = unlimited, null = deployment's
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger update_ai_settings_updated_at before update on public.ai_settings
  for each row execute function public.update_updated_at_column();

-- ai_usage: tokens and cost per client, calendar month (UTC, its first day), provider and model.
-- `reserved` holds the estimates of calls in flight: the budget is checked against used + reserved
-- before a call, and the estimate is replaced by the real count when it returns.
create table public.ai_usage (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  month date not null check (extract(day from month) = 1),
  provider text not null,
  model text not null,
  calls integer not null default 0 check (calls >= 0),
  failures integer not null default 0 check (failures >= 0),
  tokens_in bigint not null default 0 check (tokens_in >= 0),
  tokens_out bigint not null default 0 check (tokens_out >= 0),
  reserved bigint not null default 0 check (reserved >= 0),
  cost_usd numeric(14, 6) not null default 0 check (cost_usd >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (client_id, month, provider, model)
);

create trigger update_ai_usage_updated_at before update on public.ai_usage
  for each row execute function public.update_updated_at_column();

select public.revos_apply_tenant_policies(t)
from unnest(array['public.ai_settings', 'public.ai_usage']::regclass[]) as t;

select public.revos_enable_audit(t)
from unnest(array['public.ai_settings', 'public.ai_usage']::regclass[]) as t;
