-- audit_pending loses its primary key's index.
--
-- The sealer's queue takes about ten entries per LinkedIn action (9.7 million in the replayed day at the
-- spec's scale) and gives each back within seconds. Every entry cost two index insertions and, until
-- autovacuum came by, two dead index entries; autovacuum went through both indexes in full about once a
-- minute, and after a backlog (the start of a busy day) they stayed at their largest (183 MB for a
-- thousand live entries, twelve minutes into that day). Nothing looks an entry up by its id: the sealer
-- and every reader go through `idx_audit_pending_client (client_id, id)`, and retention, backups and
-- `revos status` read the table whole. The one statement that ordered by id over all clients (the
-- sealer without a client: the clients of the oldest pending entries) reads the table and keeps the
-- first `p_limit` by id instead, over the entries waiting (a few thousand at any time).
--
-- `id` stays an identity column (the order of a client's entries); it is unique by construction, and the
-- table is published, if ever, with its whole row as its identity.

alter table public.audit_pending drop constraint audit_pending_pkey;
alter table public.audit_pending replica identity full;
