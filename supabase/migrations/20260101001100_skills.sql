-- Per-campaign AI skills and the log of their executions.

create table public.campaign_skills (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  campaign_id uuid references public.campaigns (id) on delete cascade,
  skill_name text not null, -- 'copywriting', 'voice', 'deliverability', 'design'
  execution_mode text check (execution_mode in ('human', 'ai', 'scheduled')) default 'ai',
  schedule timestamptz, -- if mode is 'scheduled'
  config jsonb default '{}',
  enabled boolean default true,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (campaign_id, skill_name),
  constraint campaign_skills_campaign_client_fkey
    foreign key (campaign_id, client_id) references public.campaigns (id, client_id)
);

create index idx_campaign_skills_campaign on public.campaign_skills (campaign_id);
create index idx_campaign_skills_enabled on public.campaign_skills (enabled);
create index idx_campaign_skills_client on public.campaign_skills (client_id);

create trigger fill_client_id before insert on public.campaign_skills
  for each row execute function public.revos_fill_client_id('campaign_id', 'campaigns');

create trigger update_campaign_skills_updated_at before update on public.campaign_skills
  for each row execute function public.update_updated_at_column();


create table public.skill_executions (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  campaign_id uuid references public.campaigns (id),
  skill_name text not null,
  input_data jsonb,
  output_data jsonb,
  execution_time_ms integer,
  tokens_used integer,
  success boolean default true,
  error_message text,
  created_at timestamptz default now(),

  constraint skill_executions_campaign_client_fkey
    foreign key (campaign_id, client_id) references public.campaigns (id, client_id)
);

create index idx_skill_executions_campaign on public.skill_executions (campaign_id);
create index idx_skill_executions_skill on public.skill_executions (skill_name);
create index idx_skill_executions_created on public.skill_executions (created_at desc);
create index idx_skill_executions_client on public.skill_executions (client_id);

create trigger fill_client_id before insert on public.skill_executions
  for each row execute function public.revos_fill_client_id('campaign_id', 'campaigns');
