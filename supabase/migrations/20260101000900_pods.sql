-- Engagement pods: members' accounts like and comment on each other's posts within the pod's windows.

create table public.pods (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  name text not null,
  description text,
  min_members integer default 9,
  auto_engage boolean default true,
  engagement_window_minutes integer default 30, -- for likes
  comment_window_minutes integer default 180,   -- for comments
  settings jsonb default '{}',
  status text check (status in ('active', 'paused')) default 'active',
  created_at timestamptz default now(),
  updated_at timestamptz default now(),

  unique (client_id, name),
  constraint pods_id_client_id_key unique (id, client_id)
);

create index idx_pods_client on public.pods (client_id);
create index idx_pods_status on public.pods (status);

create trigger update_pods_updated_at before update on public.pods
  for each row execute function public.update_updated_at_column();


create table public.pod_members (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  pod_id uuid references public.pods (id) on delete cascade,
  user_id uuid references public.users (id) on delete cascade,
  linkedin_account_id uuid references public.linkedin_accounts (id),
  role text check (role in ('owner', 'member')) default 'member',
  participation_score decimal(3, 2) default 1.00, -- 0.00 to 1.00
  total_engagements integer default 0,
  missed_engagements integer default 0,
  status text check (status in ('active', 'paused', 'removed')) default 'active',
  joined_at timestamptz default now(),

  unique (pod_id, user_id),
  constraint pod_members_id_client_id_key unique (id, client_id),
  constraint pod_members_pod_client_fkey
    foreign key (pod_id, client_id) references public.pods (id, client_id),
  constraint pod_members_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id),
  constraint pod_members_linkedin_account_client_fkey
    foreign key (linkedin_account_id, client_id) references public.linkedin_accounts (id, client_id)
);

create index idx_pod_members_pod on public.pod_members (pod_id);
create index idx_pod_members_user on public.pod_members (user_id);
create index idx_pod_members_status on public.pod_members (status);
create index idx_pod_members_client on public.pod_members (client_id);
create index idx_pod_members_linkedin_account on public.pod_members (linkedin_account_id);

create trigger fill_client_id before insert on public.pod_members
  for each row execute function public.revos_fill_client_id(
    'pod_id', 'pods', 'user_id', 'users', 'linkedin_account_id', 'linkedin_accounts');


create table public.pod_activities (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  pod_id uuid references public.pods (id) on delete cascade,
  post_id uuid references public.posts (id),
  post_url text not null,
  post_author_id uuid references public.pod_members (id),
  engagement_type text check (engagement_type in ('like', 'comment', 'repost')),
  member_id uuid references public.pod_members (id),
  scheduled_for timestamptz,
  executed_at timestamptz,
  status text check (status in ('pending', 'completed', 'failed', 'skipped')) default 'pending',
  error_message text,
  created_at timestamptz default now(),

  constraint pod_activities_pod_client_fkey
    foreign key (pod_id, client_id) references public.pods (id, client_id),
  constraint pod_activities_post_client_fkey
    foreign key (post_id, client_id) references public.posts (id, client_id),
  constraint pod_activities_post_author_client_fkey
    foreign key (post_author_id, client_id) references public.pod_members (id, client_id),
  constraint pod_activities_member_client_fkey
    foreign key (member_id, client_id) references public.pod_members (id, client_id)
);

create index idx_pod_activities_pod on public.pod_activities (pod_id);
create index idx_pod_activities_member on public.pod_activities (member_id);
create index idx_pod_activities_scheduled on public.pod_activities (scheduled_for)
  where status = 'pending';
create index idx_pod_activities_client on public.pod_activities (client_id);
create index idx_pod_activities_post on public.pod_activities (post_id);
create index idx_pod_activities_post_author on public.pod_activities (post_author_id);
-- Critical query: the dispatcher's due pending activities.
create index idx_pod_activities_execution on public.pod_activities (status, scheduled_for)
  where status = 'pending';

create trigger fill_client_id before insert on public.pod_activities
  for each row execute function public.revos_fill_client_id(
    'pod_id', 'pods', 'member_id', 'pod_members', 'post_id', 'posts');
