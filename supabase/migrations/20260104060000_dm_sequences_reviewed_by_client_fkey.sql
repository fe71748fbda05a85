-- The reviewer of a captured email is a user of the sequence's own client: the composite key makes it so.

create index idx_dm_sequences_reviewed_by on public.dm_sequences (reviewed_by);

alter table public.dm_sequences
  add constraint dm_sequences_reviewed_by_client_fkey
    foreign key (reviewed_by, client_id) references public.users (id, client_id);
