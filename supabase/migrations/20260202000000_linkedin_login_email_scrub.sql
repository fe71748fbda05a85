-- The LinkedIn login (an email, or a phone number) is a credential: the spec marks linkedin_email
-- ENCRYPTED, and it lives only there, as ciphertext. Earlier versions also kept it in clear text:
--   * in profile_data, which held Unipile's whole GET /users/me answer, `email` included;
--   * as account_name, which defaulted to the login when no name was given.
-- Both are readable by every member of the client, and by anyone holding a database dump.
--
-- This removes `email` from every profile_data and renames accounts whose name is the login (or looks
-- like one: an email address or a phone number, which cannot be told apart from it here, since the
-- ciphertext cannot be read in SQL) to the name the application now gives an unnamed account. The
-- application renames those to the LinkedIn profile's display name when it next reads the profile
-- (a reconnection, or a profile refresh).

update public.linkedin_accounts
   set account_name = 'LinkedIn account ' || left(id::text, 8)
 where lower(account_name) = lower(profile_data ->> 'email')
    or account_name ~ '^[^@[:space:]]+@[^@[:space:]]+$'
    or account_name ~ '^\+?[0-9][0-9 ().-]{5,}$';

update public.linkedin_accounts
   set profile_data = profile_data - 'email'
 where profile_data ? 'email';
