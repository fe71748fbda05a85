-- Tokens die with their user: a JWT issued at or before `tokens_valid_after` is refused, so an admin
-- (or the user) can revoke every token of a user at once. Deleting or demoting the user needs no
-- column: every request looks the user up (revos.api.deps).
alter table public.users add column tokens_valid_after timestamptz;

comment on column public.users.tokens_valid_after is
  'JWTs of this user issued at or before this time are refused (POST /v1/users/{id}/revoke-tokens)';
