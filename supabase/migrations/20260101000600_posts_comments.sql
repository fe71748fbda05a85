-- LinkedIn posts created through the system and the comments polled from them.

create table public.posts (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  campaign_id uuid references public.campaigns (id) on delete cascade,
  linkedin_account_id uuid references public.linkedin_accounts (id),
  unipile_post_id text unique,
  post_url text,
  content text not null,
  media_urls text[],
  trigger_word text,
  status text check (status in ('draft', 'scheduled', 'published', 'failed')) default 'draft',
  scheduled_for timestamptz,
  published_at timestamptz,
  metrics jsonb default '{}', -- impressions, likes, comments, shares
  last_polled_at timestamptz,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  constraint posts_id_client_id_key unique (id, client_id),
  constraint posts_campaign_client_fkey
    foreign key (campaign_id, client_id) references public.campaigns (id, client_id),
  constraint posts_linkedin_account_client_fkey
    foreign key (linkedin_account_id, client_id) references public.linkedin_accounts (id, client_id)
);

create index idx_posts_campaign on public.posts (campaign_id);
create index idx_posts_status on public.posts (status);
create index idx_posts_scheduled on public.posts (scheduled_for) where scheduled_for is not null;
create index idx_posts_client on public.posts (client_id);
create index idx_posts_linkedin_account on public.posts (linkedin_account_id);

create trigger fill_client_id before insert on public.posts
  for each row execute function public.revos_fill_client_id(
    'campaign_id', 'campaigns', 'linkedin_account_id', 'linkedin_accounts');

create trigger update_posts_updated_at before update on public.posts
  for each row execute function public.update_updated_at_column();


create table public.comments (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  post_id uuid references public.posts (id) on delete cascade,
  unipile_comment_id text unique,
  author_name text not null,
  author_linkedin_id text not null,
  author_profile_url text,
  content text not null,
  has_trigger_word boolean default false,
  dm_sent boolean default false,
  dm_sent_at timestamptz,
  created_at timestamptz default now(),

  constraint comments_id_client_id_key unique (id, client_id),
  constraint comments_post_client_fkey
    foreign key (post_id, client_id) references public.posts (id, client_id)
);

create index idx_comments_post on public.comments (post_id);
create index idx_comments_trigger on public.comments (has_trigger_word) where has_trigger_word = true;
create index idx_comments_author on public.comments (author_linkedin_id);
create index idx_comments_client on public.comments (client_id);

create trigger fill_client_id before insert on public.comments
  for each row execute function public.revos_fill_client_id('post_id', 'posts');
