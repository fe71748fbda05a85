-- Account safety and the action ledger: what the lead-engine schema left to this part.
--
-- pause_source says why an account is paused, so that a reconnection resumes an account paused for a
-- provider reason (disconnected, provider error) but never one a person paused or LinkedIn restricted.
-- rate_limit_strikes counts consecutive 429s: each one doubles the pause, a successful action resets it.
-- linkedin_actions.reserved_day is the account-local day whose budget an action's attempt consumed, so
-- an attempt proven not to have happened gives that exact unit back.

alter table public.linkedin_accounts
  add column pause_source text
    check (pause_source in ('manual', 'rate_limited', 'provider_error', 'disconnected', 'restricted')),
  add column rate_limit_strikes integer not null default 0 check (rate_limit_strikes >= 0);

alter table public.linkedin_actions
  add column reserved_day date;

create index idx_linkedin_accounts_paused on public.linkedin_accounts (paused_until)
  where paused_at is not null;
