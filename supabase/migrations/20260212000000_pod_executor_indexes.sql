-- The pod executor's per-tick look-ups stay cheap however many activities are pending (a day's backlog is
-- 1M rows at the spec's scale): without these, finding the comments someone must read first and the
-- activities whose window closed scanned every due pending activity on each tick.

-- Comments awaiting a person's approval (drafted ahead so they can be read).
create index idx_pod_activities_awaiting_approval on public.pod_activities (scheduled_for)
  where status = 'pending' and approval = 'pending';
-- Comments not drafted yet: per pod (a manual pod's are drafted ahead as suggestions), and by when they
-- fall due (the executor drafts those due before it claims them).
create index idx_pod_activities_undrafted on public.pod_activities (pod_id, scheduled_for)
  where status = 'pending' and engagement_type = 'comment' and comment_text is null;
create index idx_pod_activities_undrafted_due on public.pod_activities (scheduled_for)
  where status = 'pending' and engagement_type = 'comment' and comment_text is null;
-- Pending activities whose window closed (lapsed).
create index idx_pod_activities_window on public.pod_activities (window_ends_at) where status = 'pending';

-- Fewer entries to write per activity: the unique (pod_post_id, member_id, engagement_type) already serves
-- look-ups by pod post, and only approved comments have an approver.
drop index if exists public.idx_pod_activities_pod_post;
drop index if exists public.idx_pod_activities_approved_by;
create index idx_pod_activities_approved_by on public.pod_activities (approved_by)
  where approved_by is not null;
