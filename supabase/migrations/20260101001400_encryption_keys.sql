-- Per-client data keys for envelope encryption (AES-256-GCM).
--
-- wrapped_key is the client's data key encrypted by the master key named in master_key_id
-- (REVOS_MASTER_KEY and its predecessors), so rotating the master key rewraps these rows and
-- touches no ciphertext. A client has at most one active key (used for new writes); older
-- versions stay to decrypt what they wrote until it is re-encrypted.
--
-- Key material is for the service role only: this table gets no tenant policies (see the RLS migration).

create table public.encryption_keys (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  key_version integer not null check (key_version > 0),
  wrapped_key bytea not null,
  master_key_id text not null,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  rotated_at timestamptz,

  constraint encryption_keys_client_version_key unique (client_id, key_version)
);

create unique index idx_encryption_keys_one_active on public.encryption_keys (client_id) where active;
