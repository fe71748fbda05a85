-- An account's DM run reads its due sequences in due order (`revos.leads.sequence_repo.due_for_account`):
-- without this index it read either every sequence the account ever had or every due sequence of every
-- account, both growing with time and volume.
create index idx_dm_sequences_account_due on public.dm_sequences (linkedin_account_id, next_action_at)
  where status = 'in_progress';
