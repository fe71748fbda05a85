-- The DMs an account has in flight, for the webhook receiver's echo check.
--
-- Every `message_received` webhook for a message the account itself sent asks whether a DM with that
-- text is in flight on the account (`revos.actions.repo.sending_dm`: Unipile echoes a DM, often before
-- its sender has recorded it). The account's actions were found through `idx_linkedin_actions_account`
-- and filtered: every action the account ever made, a list that grows with each day the ledger keeps.
-- This index holds only the DMs in flight, a handful per account at any time: a DM enters it when it is
-- started and leaves it when it is recorded.

create index if not exists idx_linkedin_actions_dm_in_flight
  on public.linkedin_actions (linkedin_account_id)
  where status = 'in_flight' and kind = 'dm';
