-- dm_sequences.linkedin_account_id (added by the lead engine) must name an account of the sequence's
-- own client, like every other reference to a tenant-scoped parent: the composite key makes it so.

create index idx_dm_sequences_linkedin_account on public.dm_sequences (linkedin_account_id);

alter table public.dm_sequences
  add constraint dm_sequences_linkedin_account_client_fkey
    foreign key (linkedin_account_id, client_id) references public.linkedin_accounts (id, client_id);
