-- The dashboard's lead search: a name or email prefix, within one client, at a million leads.
-- A rare prefix is found through these indexes (a bitmap of the three), a common one along the
-- (client_id, created_at desc, id desc) keyset the list already walks; either way no full scan.
create index if not exists idx_leads_client_email_prefix
  on public.leads (client_id, lower(email) text_pattern_ops) where email is not null;
create index if not exists idx_leads_client_first_name_prefix
  on public.leads (client_id, lower(first_name) text_pattern_ops);
create index if not exists idx_leads_client_last_name_prefix
  on public.leads (client_id, lower(last_name) text_pattern_ops);
