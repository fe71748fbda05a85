-- Client webhook endpoints (the client's ESP / CRM). Deliveries follow once leads exist
-- (20260101000800_webhook_deliveries.sql).

create table public.webhook_configs (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null,
  url text not null,
  secret bytea, -- ENCRYPTED in the spec: ciphertext of the HMAC signing secret, written by the application
  headers jsonb default '{}',
  esp_type text, -- 'zapier', 'make', 'convertkit', 'custom'
  retry_enabled boolean default true,
  max_retries integer default 3,
  retry_delay_ms integer default 1000,
  timeout_ms integer default 30000,
  active boolean default true,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (client_id, name),
  constraint webhook_configs_id_client_id_key unique (id, client_id)
);

create index idx_webhook_configs_client on public.webhook_configs (client_id);
create index idx_webhook_configs_active on public.webhook_configs (active);

create trigger update_webhook_configs_updated_at before update on public.webhook_configs
  for each row execute function public.update_updated_at_column();
