-- Scheduling a post asks which of the pod's accounts other pods of the client already engage with on the
-- same LinkedIn post (`revos.pods.repo.engaged_elsewhere`: a pod post of the same social_id or URL). It
-- read every activity of the client's members in the pod and kept those on that post: 32 ms a post in a
-- replayed day at F=0.1 (20,000 activities a client), growing with the client's history. Now it finds
-- the client's pod posts of that social_id or URL, then their activities by the unique
-- (pod_post_id, member_id, engagement_type) index: 0.2 ms.
--
-- An activity written without a pod post (none is, since 20260206000000; a row written by hand could
-- be) is matched by its own URL through the partial index below, which holds no other row and so costs
-- no write to the executor's updates.
create index idx_pod_posts_client_social on public.pod_posts (client_id, social_id);
create index idx_pod_posts_client_url on public.pod_posts (client_id, post_url);
create index idx_pod_activities_unposted_url on public.pod_activities (client_id, post_url)
  where pod_post_id is null;
