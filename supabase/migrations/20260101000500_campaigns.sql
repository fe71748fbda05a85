-- Campaigns and the lead magnets they offer.

create table public.lead_magnets (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null,
  description text,
  file_path text not null, -- storage key: local directory by default, S3-compatible optional
  file_size integer,
  file_type text,
  thumbnail_url text,
  download_count integer default 0,
  tags text[],
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  constraint lead_magnets_id_client_id_key unique (id, client_id)
);

create index idx_lead_magnets_client on public.lead_magnets (client_id);
create index idx_lead_magnets_tags on public.lead_magnets using gin (tags);

create trigger update_lead_magnets_updated_at before update on public.lead_magnets
  for each row execute function public.update_updated_at_column();


create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null,
  description text,
  lead_magnet_id uuid references public.lead_magnets (id),
  trigger_word text not null,
  post_template text,
  dm_template_step1 text,
  dm_template_step2 text,
  dm_template_step3 text,
  webhook_config_id uuid references public.webhook_configs (id),
  settings jsonb default '{}', -- dmSequence, skills, voice, etc.
  status text check (status in ('draft', 'active', 'paused', 'completed')) default 'draft',
  metrics jsonb default '{}',
  starts_at timestamptz,
  ends_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (client_id, name),
  constraint campaigns_id_client_id_key unique (id, client_id),
  -- A campaign may only use its own client's lead magnet and webhook.
  constraint campaigns_lead_magnet_client_fkey
    foreign key (lead_magnet_id, client_id) references public.lead_magnets (id, client_id),
  constraint campaigns_webhook_config_client_fkey
    foreign key (webhook_config_id, client_id) references public.webhook_configs (id, client_id)
);

create index idx_campaigns_client on public.campaigns (client_id);
create index idx_campaigns_status on public.campaigns (status);
create index idx_campaigns_lead_magnet on public.campaigns (lead_magnet_id);
create index idx_campaigns_webhook_config on public.campaigns (webhook_config_id);

create trigger update_campaigns_updated_at before update on public.campaigns
  for each row execute function public.update_updated_at_column();
