-- Campaigns, lead magnets and posts: the state their API, publisher and comment poller keep beyond the
-- spec's columns. Nothing of the spec is removed or renamed.

-- Lead magnets: where the file lives (a deployment can move from local disk to S3 and keep serving the
-- files stored before), the name it was uploaded under and its digest.
alter table public.lead_magnets
  add column storage_backend text not null default 'local' check (storage_backend in ('local', 's3')),
  add column original_filename text,
  add column content_sha256 text;

-- Posts: the publisher's lease on a due post (a crashed worker's claim expires) and why it waits; the
-- comment poller's lease, its high-water mark's date (the newest comment's LinkedIn timestamp) and the
-- last error of a poll, so a person can see why coverage lags.
alter table public.posts
  add column publish_claimed_until timestamptz,
  add column publish_attempts integer not null default 0,
  add column publish_note text,                -- why a due post has not gone out yet (cap, hours, pause)
  add column poll_claimed_until timestamptz,
  add column high_water_commented_at timestamptz,
  add column polls_count integer not null default 0,
  add column last_poll_error text;

create index idx_posts_publish_due on public.posts (scheduled_for) where status = 'scheduled';

-- Reply counts per thread: a poll walks a thread only when LinkedIn reports more replies than we hold.
create index idx_comments_thread on public.comments (post_id, parent_unipile_comment_id)
  where parent_unipile_comment_id is not null;
