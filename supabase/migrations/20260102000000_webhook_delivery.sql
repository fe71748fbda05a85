-- Lead delivery to the client's ESP: secret rotation, adapters, auto-disable, and a per-attempt log.
--
-- Model: one webhook_deliveries row per (config, event). It carries the event's stable id (the
-- `webhook-id` header, derived from the row id, so retries and replays never change it), its current
-- state and the outcome of the latest attempt, as in the spec. Every attempt is also written to
-- webhook_delivery_attempts, so "what happened at 09:03?" has an answer after later retries overwrote
-- the row's status_code / response_body.
--
-- State machine of a delivery (the spec's three statuses):
--   pending                      not attempted yet, or claimed by a dispatcher (next_retry_at = lease end)
--   failed + next_retry_at set   will be retried at next_retry_at
--   failed + next_retry_at null  gave up (retries exhausted, 410, config disabled); replayable
--   success                      a 2xx was received (delivered_at)

-- webhook_configs -----------------------------------------------------------------------------------

alter table public.webhook_configs
  -- Rotation: the previous secret (ciphertext, like `secret`) keeps signing until it expires, so a
  -- receiver can switch secrets without dropping a delivery.
  add column secret_previous bytea,
  add column secret_previous_expires_at timestamptz,
  add column secret_rotated_at timestamptz,
  -- Why the config stopped delivering (HTTP 410, N consecutive failures, a person), and since when.
  add column disabled_reason text,
  add column disabled_at timestamptz,
  add column consecutive_failures integer not null default 0,
  -- Adapter settings (Kit form/tag id) in clear; adapter credentials (Kit API key) as ciphertext.
  add column esp_settings jsonb not null default '{}',
  add column esp_credentials bytea,
  -- Routing: the event types this endpoint receives, and whether it receives them from every
  -- campaign of the client (a Zapier subscription) or only from campaigns that name it.
  add column events text[] not null default '{lead.captured}',
  add column all_campaigns boolean not null default false,
  add constraint webhook_configs_esp_type_check
    check (esp_type is null or esp_type in ('custom', 'zapier', 'make', 'convertkit')),
  add constraint webhook_configs_retry_bounds_check
    check (max_retries between 0 and 50 and retry_delay_ms between 1 and 86400000
           and timeout_ms between 100 and 300000),
  add constraint webhook_configs_consecutive_failures_check check (consecutive_failures >= 0);

create index idx_webhook_configs_all_campaigns on public.webhook_configs (client_id)
  where all_campaigns and active;


-- webhook_deliveries --------------------------------------------------------------------------------

alter table public.webhook_deliveries
  add column event_type text,
  -- Idempotency of enqueueing: one delivery per (config, event), e.g. 'lead.captured:<lead id>'.
  add column event_key text,
  add column last_attempt_at timestamptz,
  add constraint webhook_deliveries_id_client_id_key unique (id, client_id);

create unique index idx_webhook_deliveries_event_key
  on public.webhook_deliveries (webhook_config_id, event_key) where event_key is not null;

-- The dispatcher's claim: due rows in order of due time (pending rows and scheduled retries alike).
create index idx_webhook_deliveries_due on public.webhook_deliveries (next_retry_at)
  where status in ('pending', 'failed') and next_retry_at is not null;


-- webhook_delivery_attempts -------------------------------------------------------------------------

create table public.webhook_delivery_attempts (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  delivery_id uuid not null references public.webhook_deliveries (id) on delete cascade,
  attempt_number integer not null check (attempt_number > 0),
  attempted_at timestamptz not null,
  status text not null check (status in ('success', 'failed')),
  status_code integer,
  response_body jsonb,
  error_message text,
  response_time_ms integer,
  next_retry_at timestamptz, -- the retry this attempt scheduled, if any
  created_at timestamptz default now(),

  constraint webhook_delivery_attempts_delivery_client_fkey
    foreign key (delivery_id, client_id) references public.webhook_deliveries (id, client_id)
      on delete cascade
);

create index idx_webhook_delivery_attempts_delivery
  on public.webhook_delivery_attempts (delivery_id, attempt_number);
create index idx_webhook_delivery_attempts_client on public.webhook_delivery_attempts (client_id);

create trigger fill_client_id before insert on public.webhook_delivery_attempts
  for each row execute function public.revos_fill_client_id('delivery_id', 'webhook_deliveries');

select public.revos_apply_tenant_policies('public.webhook_delivery_attempts');
select public.revos_enable_audit('public.webhook_delivery_attempts');
