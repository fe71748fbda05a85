-- Where a DM sequence stands, so a job that re-reads it knows the one next thing to do.
--
-- stage: step1 (ask for the email: DM or invitation) → awaiting_acceptance → awaiting_reply → review
--        (a person checks a low-confidence email) → step2 (confirm) → step3 (backup link) → done.
-- attempts counts transient failures of the current stage (reset when the stage moves on).

alter table public.dm_sequences
  add column stage text not null default 'step1'
    check (stage in ('step1', 'awaiting_acceptance', 'awaiting_reply', 'review', 'step2', 'step3', 'done')),
  add column attempts integer not null default 0,
  add column invitation_id text,
  add column followup_sent_at timestamptz;

create index idx_dm_sequences_abandon on public.dm_sequences (abandon_at)
  where status = 'in_progress' and abandon_at is not null;
