-- The inbox's drain reads only the events waiting for their handlers.
--
-- `revos.inbound.drain` reads unprocessed events without an error, oldest first (`processed_at is null and
-- error is null order by received_at, created_at`), through `idx_inbound_events_unprocessed`, which also
-- holds the events whose handlers failed (they keep their error and are retried by jobs of their own, and
-- by the sweep). The read walked past every failed event older than the first waiting one, each on its own
-- heap page to see its error: with thousands of them (a broken handler) every read of the drain would pay
-- for them all.
--
-- The one index becomes two that split it: the waiting events, in the drain's order (a read stops after
-- its batch), and the failed ones (the sweep reads both). An event is written to one of them when it is
-- stored unprocessed, as before; a failure moves it from the first to the second.

create index if not exists idx_inbound_events_waiting on public.inbound_events (received_at, created_at)
  where processed_at is null and error is null;
create index if not exists idx_inbound_events_failing on public.inbound_events (received_at)
  where processed_at is null and error is not null;
drop index if exists public.idx_inbound_events_unprocessed;
