-- Reposts (an engagement pod's members sharing each other's posts) are outbound LinkedIn actions of their
-- own kind: recorded in the action ledger and counted against their own daily cap (REVOS_SAFETY_CAP_REPOST).
alter table public.linkedin_actions drop constraint linkedin_actions_kind_check;
alter table public.linkedin_actions add constraint linkedin_actions_kind_check
  check (kind in ('post', 'dm', 'invitation', 'comment', 'reaction', 'profile_view', 'repost'));
