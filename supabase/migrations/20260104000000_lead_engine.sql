-- The lead engine's working state: additions to spec tables and new tables for the exactly-once
-- action ledger, the inbound-event inbox, per-account safety budgets and per-lead timelines.
-- Nothing of the spec is removed or renamed.

-- Campaigns: several trigger words (trigger_word stays, the first of them).
alter table public.campaigns add column trigger_words text[] not null default '{}';

-- LinkedIn accounts: safety state. Caps and windows live in `safety` (overrides of the settings).
alter table public.linkedin_accounts
  add column timezone text not null default 'UTC',
  add column safety jsonb not null default '{}',
  add column paused_at timestamptz,
  add column paused_until timestamptz,
  add column pause_reason text,
  add column warmup_started_at timestamptz,
  add column provider_status text,          -- Unipile sources[].status / AccountStatus message
  add column checkpoint jsonb,              -- pending checkpoint (type, source), never a code
  add column next_action_at timestamptz;    -- randomised gap: no outbound action before this

-- Posts: publishing and comment-polling state.
alter table public.posts
  add column social_id text,
  add column failure_reason text,
  add column poll_next_at timestamptz,
  add column last_full_scan_at timestamptz,
  add column comments_seen integer not null default 0,
  add column provider_comment_count integer,
  add column high_water_comment_id text;

create index idx_posts_poll_due on public.posts (poll_next_at) where status = 'published';

-- Comments: reply threads and LinkedIn's own timestamp.
alter table public.comments
  add column parent_unipile_comment_id text,
  add column commented_at timestamptz,
  add column author_network_distance text;

-- Sequences: where the flow stands and what a reviewer decided.
alter table public.dm_sequences
  add column linkedin_account_id uuid references public.linkedin_accounts (id),
  add column unipile_chat_id text,
  add column invitation_sent_at timestamptz,
  add column invitation_accepted_at timestamptz,
  add column last_reply_at timestamptz,
  add column email_confidence numeric(3, 2),
  add column review_status text check (review_status in ('pending', 'approved', 'rejected')),
  add column reviewed_by uuid references public.users (id),
  add column reviewed_at timestamptz,
  add column step2_scheduled_for timestamptz,
  add column abandon_at timestamptz,
  add column next_action_at timestamptz;

create unique index idx_dm_sequences_one_per_lead on public.dm_sequences (lead_id);
create index idx_dm_sequences_next_action on public.dm_sequences (next_action_at)
  where status = 'in_progress';
create index idx_dm_sequences_chat on public.dm_sequences (unipile_chat_id);
create index idx_dm_sequences_review on public.dm_sequences (client_id) where review_status = 'pending';

-- Every outbound LinkedIn action, written as an intent before the call and confirmed only with the
-- provider's id. `action_key` is the idempotency key (e.g. 'dm:<sequence>:1'): one row per action
-- ever, so a retry or a second worker finds the row instead of acting twice.
create table public.linkedin_actions (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  linkedin_account_id uuid not null references public.linkedin_accounts (id) on delete cascade,
  kind text not null check (kind in ('post', 'dm', 'invitation', 'comment', 'reaction', 'profile_view')),
  action_key text not null unique,
  status text not null default 'intent'
    check (status in ('intent', 'in_flight', 'done', 'ambiguous', 'failed')),
  target text,                   -- provider id of the recipient / social id of the post
  payload jsonb not null default '{}',
  provider_id text,              -- message id, invitation id, post id, comment id
  provider_chat_id text,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  done_at timestamptz,

  constraint linkedin_actions_id_client_id_key unique (id, client_id),
  constraint linkedin_actions_account_client_fkey
    foreign key (linkedin_account_id, client_id) references public.linkedin_accounts (id, client_id),
  constraint linkedin_actions_done_has_provider_id check (status <> 'done' or provider_id is not null)
);

create index idx_linkedin_actions_client on public.linkedin_actions (client_id);
create index idx_linkedin_actions_account on public.linkedin_actions (linkedin_account_id);
create index idx_linkedin_actions_unsettled on public.linkedin_actions (updated_at)
  where status in ('in_flight', 'ambiguous');

create trigger fill_client_id before insert on public.linkedin_actions
  for each row execute function public.revos_fill_client_id('linkedin_account_id', 'linkedin_accounts');
create trigger update_linkedin_actions_updated_at before update on public.linkedin_actions
  for each row execute function public.update_updated_at_column();

-- Per-account, per-day (in the account's time zone), per-kind usage: the atomic daily caps.
create table public.account_daily_usage (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  linkedin_account_id uuid not null references public.linkedin_accounts (id) on delete cascade,
  day date not null,
  kind text not null,
  used integer not null default 0 check (used >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),

  unique (linkedin_account_id, day, kind),
  constraint account_daily_usage_account_client_fkey
    foreign key (linkedin_account_id, client_id) references public.linkedin_accounts (id, client_id)
);

create index idx_account_daily_usage_client on public.account_daily_usage (client_id);

create trigger fill_client_id before insert on public.account_daily_usage
  for each row execute function public.revos_fill_client_id('linkedin_account_id', 'linkedin_accounts');
create trigger update_account_daily_usage_updated_at before update on public.account_daily_usage
  for each row execute function public.update_updated_at_column();

-- Inbound provider events (Unipile webhooks and polled messages), keyed by the provider's id so a
-- redelivered webhook or a message seen by both webhook and poller is processed once.
create table public.inbound_events (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  linkedin_account_id uuid references public.linkedin_accounts (id) on delete cascade,
  source text not null,          -- messaging | account_status | users | poll
  event_key text not null unique, -- e.g. 'message:<message_id>', 'relation:<account>:<provider_id>'
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  error text,
  created_at timestamptz not null default now(),

  constraint inbound_events_account_client_fkey
    foreign key (linkedin_account_id, client_id) references public.linkedin_accounts (id, client_id)
);

create index idx_inbound_events_client on public.inbound_events (client_id);
create index idx_inbound_events_account on public.inbound_events (linkedin_account_id);
create index idx_inbound_events_unprocessed on public.inbound_events (received_at) where processed_at is null;

-- The per-lead timeline: every decision with its time and a reason a person can read.
create table public.lead_events (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  lead_id uuid not null references public.leads (id) on delete cascade,
  occurred_at timestamptz not null,
  kind text not null,
  reason text,
  data jsonb not null default '{}',
  created_at timestamptz not null default now(),

  constraint lead_events_lead_client_fkey
    foreign key (lead_id, client_id) references public.leads (id, client_id)
);

create index idx_lead_events_lead on public.lead_events (lead_id, occurred_at);
create index idx_lead_events_client on public.lead_events (client_id);

create trigger fill_client_id before insert on public.lead_events
  for each row execute function public.revos_fill_client_id('lead_id', 'leads');

select public.revos_apply_tenant_policies(t)
from unnest(array[
  'public.linkedin_actions',
  'public.account_daily_usage',
  'public.inbound_events',
  'public.lead_events'
]::regclass[]) as t;

select public.revos_enable_audit(t)
from unnest(array[
  'public.linkedin_actions',
  'public.account_daily_usage',
  'public.inbound_events',
  'public.lead_events'
]::regclass[]) as t;
