-- Log of every webhook delivery attempt.
--
-- As in the spec, webhook_config_id and lead_id have no ON DELETE: a lead or webhook config with
-- deliveries cannot be deleted on its own. Deleting the client removes everything (client_id cascades).

create table public.webhook_deliveries (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  webhook_config_id uuid references public.webhook_configs (id),
  lead_id uuid references public.leads (id),
  payload jsonb not null,
  status text check (status in ('pending', 'success', 'failed')) default 'pending',
  status_code integer,
  response_body jsonb,
  error_message text,
  attempt_count integer default 1,
  response_time_ms integer,
  next_retry_at timestamptz,
  created_at timestamptz default now(),
  delivered_at timestamptz,

  constraint webhook_deliveries_webhook_config_client_fkey
    foreign key (webhook_config_id, client_id) references public.webhook_configs (id, client_id),
  constraint webhook_deliveries_lead_client_fkey
    foreign key (lead_id, client_id) references public.leads (id, client_id)
);

create index idx_webhook_deliveries_config on public.webhook_deliveries (webhook_config_id);
create index idx_webhook_deliveries_lead on public.webhook_deliveries (lead_id);
create index idx_webhook_deliveries_status on public.webhook_deliveries (status);
create index idx_webhook_deliveries_retry on public.webhook_deliveries (next_retry_at)
  where status = 'failed' and next_retry_at is not null;
create index idx_webhook_deliveries_client on public.webhook_deliveries (client_id);
-- Critical query: the retry queue.
create index idx_webhook_deliveries_retry_queue on public.webhook_deliveries (status, next_retry_at)
  where status = 'failed';

create trigger fill_client_id before insert on public.webhook_deliveries
  for each row execute function public.revos_fill_client_id(
    'webhook_config_id', 'webhook_configs', 'lead_id', 'leads');
