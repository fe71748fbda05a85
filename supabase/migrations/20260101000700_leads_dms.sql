-- Leads and their three-step DM sequences.
--
-- leads.dm_sequence_id and dm_sequences.lead_id reference each other: both tables are created first
-- and the lead → sequence foreign keys are added afterwards with ALTER TABLE.

create table public.leads (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  campaign_id uuid references public.campaigns (id) on delete cascade,
  email text,
  first_name text,
  last_name text,
  linkedin_id text not null,
  linkedin_url text,
  company text,
  title text,
  source text check (source in ('comment', 'dm', 'manual')) default 'comment',
  status text check (status in (
    'comment_detected',
    'dm_sent',
    'dm_replied',
    'email_captured',
    'webhook_sent',
    'backup_sent',
    'completed',
    'failed'
  )) default 'comment_detected',
  comment_id uuid references public.comments (id),
  dm_sequence_id uuid, -- references dm_sequences, added below
  custom_fields jsonb default '{}',
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (campaign_id, linkedin_id),
  constraint leads_id_client_id_key unique (id, client_id),
  constraint leads_campaign_client_fkey
    foreign key (campaign_id, client_id) references public.campaigns (id, client_id),
  constraint leads_comment_client_fkey
    foreign key (comment_id, client_id) references public.comments (id, client_id)
);

create index idx_leads_campaign on public.leads (campaign_id);
create index idx_leads_status on public.leads (status);
create index idx_leads_email on public.leads (email) where email is not null;
create index idx_leads_client on public.leads (client_id);
create index idx_leads_comment on public.leads (comment_id);
create index idx_leads_dm_sequence on public.leads (dm_sequence_id);
-- Critical query: leads of a campaign by status.
create index idx_leads_campaign_status on public.leads (campaign_id, status);

create trigger fill_client_id before insert on public.leads
  for each row execute function public.revos_fill_client_id(
    'campaign_id', 'campaigns', 'comment_id', 'comments');

create trigger update_leads_updated_at before update on public.leads
  for each row execute function public.update_updated_at_column();


create table public.dm_sequences (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  lead_id uuid references public.leads (id) on delete cascade,
  campaign_id uuid references public.campaigns (id),

  -- Step 1: initial email request
  step1_scheduled_for timestamptz,
  step1_sent_at timestamptz,
  step1_message text,
  step1_unipile_message_id text,
  step1_status text,

  -- Step 2: confirmation
  step2_sent_at timestamptz,
  step2_message text,
  step2_unipile_message_id text,
  email_extracted text,
  email_extracted_at timestamptz,

  -- Step 3: backup with link
  step3_scheduled_for timestamptz,
  step3_sent_at timestamptz,
  step3_message text,
  step3_unipile_message_id text,
  download_url text,
  download_url_expires_at timestamptz,
  link_clicked boolean default false,
  link_clicked_at timestamptz,

  -- Overall tracking
  status text check (status in ('in_progress', 'completed', 'failed', 'abandoned')) default 'in_progress',
  completed_at timestamptz,
  failure_reason text,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  constraint dm_sequences_id_client_id_key unique (id, client_id),
  constraint dm_sequences_lead_client_fkey
    foreign key (lead_id, client_id) references public.leads (id, client_id),
  constraint dm_sequences_campaign_client_fkey
    foreign key (campaign_id, client_id) references public.campaigns (id, client_id)
);

create index idx_dm_sequences_lead on public.dm_sequences (lead_id);
create index idx_dm_sequences_campaign on public.dm_sequences (campaign_id);
create index idx_dm_sequences_status on public.dm_sequences (status);
create index idx_dm_sequences_step3_scheduled on public.dm_sequences (step3_scheduled_for)
  where step3_scheduled_for is not null and step3_sent_at is null;
create index idx_dm_sequences_client on public.dm_sequences (client_id);
-- Critical query: sequences due for step 1.
create index idx_dm_sequences_pending on public.dm_sequences (status, step1_scheduled_for)
  where status = 'in_progress';

create trigger fill_client_id before insert on public.dm_sequences
  for each row execute function public.revos_fill_client_id(
    'lead_id', 'leads', 'campaign_id', 'campaigns');

create trigger update_dm_sequences_updated_at before update on public.dm_sequences
  for each row execute function public.update_updated_at_column();


-- The cycle's other half.
alter table public.leads
  add constraint leads_dm_sequence_id_fkey
    foreign key (dm_sequence_id) references public.dm_sequences (id),
  add constraint leads_dm_sequence_client_fkey
    foreign key (dm_sequence_id, client_id) references public.dm_sequences (id, client_id);


create table public.dm_messages (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  dm_sequence_id uuid references public.dm_sequences (id) on delete cascade,
  direction text check (direction in ('outbound', 'inbound')),
  message text not null,
  -- Globally unique (the inbound dedupe key), which is why this table is not partitioned.
  unipile_message_id text unique,
  unipile_conversation_id text,
  sent_at timestamptz,
  delivered_at timestamptz,
  read_at timestamptz,
  created_at timestamptz default now(),

  constraint dm_messages_dm_sequence_client_fkey
    foreign key (dm_sequence_id, client_id) references public.dm_sequences (id, client_id)
);

create index idx_dm_messages_sequence on public.dm_messages (dm_sequence_id);
create index idx_dm_messages_conversation on public.dm_messages (unipile_conversation_id);
create index idx_dm_messages_client on public.dm_messages (client_id);

create trigger fill_client_id before insert on public.dm_messages
  for each row execute function public.revos_fill_client_id('dm_sequence_id', 'dm_sequences');
