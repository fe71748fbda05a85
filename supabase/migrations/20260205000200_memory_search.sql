-- Memories: the vector space each embedding belongs to, the list indexes, automatic memories kept once.
--
-- embedding_model names the model that made the row's embedding (revos.ai.embeddings.signature, e.g.
-- 'wordllama/l2_supercat/256'). Search compares only vectors of the deployment's current model; after a
-- change of model the worker re-embeds the other rows (memory.reembed) instead of mixing two spaces.
-- Rows written before this column existed have none and are re-embedded the same way.

alter table public.memories add column embedding_model text;
update public.memories set metadata = '{}' where metadata is null;
alter table public.memories alter column metadata set not null;

-- Lists: newest first, one client at a time (revos.db.crud.page), by type and by user as filters.
create index if not exists idx_memories_client_created
  on public.memories (client_id, created_at desc, id desc);
create index if not exists idx_memories_client_type_created
  on public.memories (client_id, memory_type, created_at desc, id desc);
create index if not exists idx_memories_client_user_created
  on public.memories (client_id, user_id, created_at desc, id desc);
drop index if exists public.idx_memories_client;

-- An automatic memory (a post that converted, a DM template that got replies) is written once per
-- client and source: metadata.auto_source is 'post:<post id>' or 'dm_template:<md5 of the template>'.
create unique index if not exists idx_memories_auto_source
  on public.memories (client_id, (metadata ->> 'auto_source'))
  where metadata ? 'auto_source';

-- The re-embedding job looks for rows of another model; few of them outside a change of model.
create index if not exists idx_memories_embedding_model on public.memories (embedding_model);
