-- Indexes for the API's lists.
--
-- Every list is newest first with a (created_at, id) keyset cursor, and is read one client at a time
-- (revos.db.crud.page_query): for each filter a list offers, an index on (client_id, <the filter's
-- columns>, created_at desc, id desc) lets a page be a walk of 50 index entries from the cursor on, at
-- any depth, instead of a sort of every row the caller may see (4 s for the first page of 900,000
-- leads). Single-column client_id indexes that are a prefix of a new one, and are not the spec's, are
-- dropped: the composite serves them (foreign keys to clients, policies) as well.
--
-- Plain CREATE INDEX (a migration runs in a transaction): on a large existing database, run this one
-- at a quiet time, or create the indexes CONCURRENTLY by hand first (the names are the same).

-- leads: all, ?campaign_id, ?status, ?campaign_id&status. The last one also answers a campaign's count
-- by status from the index alone.
create index if not exists idx_leads_client_created on public.leads (client_id, created_at desc, id desc);
create index if not exists idx_leads_client_campaign_created
  on public.leads (client_id, campaign_id, created_at desc, id desc);
create index if not exists idx_leads_client_status_created
  on public.leads (client_id, status, created_at desc, id desc);
create index if not exists idx_leads_client_campaign_status_created
  on public.leads (client_id, campaign_id, status, created_at desc, id desc);
drop index if exists public.idx_leads_client;

-- The review queue is walked from the sequences whose email waits for a person.
create index if not exists idx_dm_sequences_review_created
  on public.dm_sequences (client_id, created_at desc, id desc) where review_status = 'pending';
create index if not exists idx_dm_sequences_review_campaign_created
  on public.dm_sequences (client_id, campaign_id, created_at desc, id desc) where review_status = 'pending';
drop index if exists public.idx_dm_sequences_review;

-- campaigns: all, ?status (idx_campaigns_client is the spec's and stays).
create index if not exists idx_campaigns_client_created
  on public.campaigns (client_id, created_at desc, id desc);
create index if not exists idx_campaigns_client_status_created
  on public.campaigns (client_id, status, created_at desc, id desc);

-- posts: all, ?campaign_id, ?status.
create index if not exists idx_posts_client_created on public.posts (client_id, created_at desc, id desc);
create index if not exists idx_posts_client_campaign_created
  on public.posts (client_id, campaign_id, created_at desc, id desc);
create index if not exists idx_posts_client_status_created
  on public.posts (client_id, status, created_at desc, id desc);
drop index if exists public.idx_posts_client;

-- A post's comments: all, and those with the trigger word.
create index if not exists idx_comments_client_post_created
  on public.comments (client_id, post_id, created_at desc, id desc);
create index if not exists idx_comments_client_post_trigger_created
  on public.comments (client_id, post_id, created_at desc, id desc) where has_trigger_word;
drop index if exists public.idx_comments_client;

-- A webhook config's deliveries: all, ?status.
create index if not exists idx_webhook_deliveries_client_config_created
  on public.webhook_deliveries (client_id, webhook_config_id, created_at desc, id desc);
create index if not exists idx_webhook_deliveries_client_config_status_created
  on public.webhook_deliveries (client_id, webhook_config_id, status, created_at desc, id desc);
drop index if exists public.idx_webhook_deliveries_client;

-- Short lists, kept a walk too however long they grow (a Zapier subscription is a config, an
-- integration an API key). idx_users_client, idx_lead_magnets_client and idx_webhook_configs_client
-- are the spec's and stay.
create index if not exists idx_users_client_created on public.users (client_id, created_at desc, id desc);
create index if not exists idx_api_keys_client_created on public.api_keys (client_id, created_at desc, id desc);
drop index if exists public.idx_api_keys_client;
create index if not exists idx_linkedin_accounts_client_created
  on public.linkedin_accounts (client_id, created_at desc, id desc);
drop index if exists public.idx_linkedin_accounts_client;
create index if not exists idx_lead_magnets_client_created
  on public.lead_magnets (client_id, created_at desc, id desc);
create index if not exists idx_webhook_configs_client_created
  on public.webhook_configs (client_id, created_at desc, id desc);
