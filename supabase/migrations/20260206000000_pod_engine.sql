-- Engagement pods at work (revos.pods): the posts a pod engages with, each activity's window, comment and
-- ledger action, members paused with a reason, and "nobody engages twice with one post".

-- Why a pod or a member is not active (a pod paused below min_members, a member paused for low
-- participation); null when a person set the status without one.
alter table public.pods
  add column status_reason text;

alter table public.pod_members
  add column status_reason text,
  add column paused_at timestamptz;

-- One account once per pod.
create unique index uq_pod_members_pod_account on public.pod_members (pod_id, linkedin_account_id);

-- A post the pod engages with: a member's revOS post (post_id) or a URL a member submitted. Scheduling
-- inserts it once (unique per pod and URL), so a replayed event or a second submission schedules nothing.
create table public.pod_posts (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  pod_id uuid not null references public.pods (id) on delete cascade,
  author_member_id uuid not null references public.pod_members (id) on delete cascade,
  post_id uuid references public.posts (id) on delete set null,
  post_url text not null,
  social_id text,                      -- what Unipile's comment and reaction routes key on
  post_text text,                      -- what comments are written about
  published_at timestamptz not null,
  verify_next_at timestamptz,          -- manual pods: next look at the post's reactions and comments
  created_at timestamptz not null default now(),

  unique (pod_id, post_url),
  constraint pod_posts_id_client_id_key unique (id, client_id),
  constraint pod_posts_pod_client_fkey foreign key (pod_id, client_id) references public.pods (id, client_id),
  constraint pod_posts_author_client_fkey
    foreign key (author_member_id, client_id) references public.pod_members (id, client_id),
  constraint pod_posts_post_client_fkey
    foreign key (post_id, client_id) references public.posts (id, client_id) on delete set null (post_id)
);

create index idx_pod_posts_client on public.pod_posts (client_id);
create index idx_pod_posts_author on public.pod_posts (author_member_id, published_at desc);
create index idx_pod_posts_post on public.pod_posts (post_id);
create index idx_pod_posts_verify on public.pod_posts (verify_next_at) where verify_next_at is not null;

create trigger fill_client_id before insert on public.pod_posts
  for each row execute function public.revos_fill_client_id('pod_id', 'pods');

select public.revos_apply_tenant_policies('public.pod_posts');
select public.revos_enable_audit('public.pod_posts');

alter table public.pod_activities
  add column pod_post_id uuid,
  add column window_ends_at timestamptz,      -- never performed at or after this instant
  add column comment_text text,               -- the comment (as approved, edited or not)
  add column approval text check (approval in ('pending', 'approved', 'rejected')),
  add column approved_by uuid,
  add column linkedin_action_id uuid,          -- the ledger row (key pod:<activity id>)
  add column claimed_until timestamptz,       -- the executor's lease
  add column verified boolean not null default false,  -- manual pods: seen on the post
  -- The member's to do and not done: a failure, a window that closed first (the participation score).
  add column missed boolean not null default false,
  add constraint pod_activities_pod_post_client_fkey
    foreign key (pod_post_id, client_id) references public.pod_posts (id, client_id) on delete cascade,
  add constraint pod_activities_approved_by_client_fkey
    foreign key (approved_by, client_id) references public.users (id, client_id) on delete set null (approved_by),
  add constraint pod_activities_action_client_fkey
    foreign key (linkedin_action_id, client_id) references public.linkedin_actions (id, client_id);

-- Nobody likes, comments or reposts twice on one post (per pod member).
create unique index uq_pod_activities_post_member_kind
  on public.pod_activities (pod_post_id, member_id, engagement_type);
create index idx_pod_activities_pod_post on public.pod_activities (pod_post_id);
create index idx_pod_activities_action on public.pod_activities (linkedin_action_id);
create index idx_pod_activities_approved_by on public.pod_activities (approved_by);
-- A member's recent outcomes (participation score, daily engagement count).
create index idx_pod_activities_member_scheduled on public.pod_activities (member_id, scheduled_for desc);
