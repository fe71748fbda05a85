-- audit_log loses idx_audit_log_row (table_name, row_id).
--
-- Nothing reads the trail by row: the API, the admin page and the client export page through a client's
-- chain by (client_id, seq), `revos audit verify` walks it in that order, and retention deletes by id. The
-- index only cost the sealer: one more entry per audit entry, on a random 40-odd byte text key, in the
-- largest table of the system (9.9 million entries in the replayed day at the spec's scale). Sealing 20,000
-- entries went from 0.38-0.40 s to 0.28-0.29 s of CPU without it.
--
-- An operator tracing one row's history searches the client's chain (`where client_id = .. and
-- table_name = .. and row_id = ..` walks the (client_id, seq) key of that client only).

drop index if exists public.idx_audit_log_row;
