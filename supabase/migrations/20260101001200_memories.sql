-- Semantic memory of what worked (successful posts, conversion patterns), searched by embedding.

create table public.memories (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references public.clients (id) on delete cascade,
  user_id uuid references public.users (id) on delete cascade,
  mem0_memory_id text unique,
  memory_type text, -- 'successful_post', 'conversion_pattern', etc.
  content text,
  metadata jsonb default '{}',
  embedding vector(1536),
  relevance_score decimal(3, 2),
  created_at timestamptz default now(),

  constraint memories_user_client_fkey
    foreign key (user_id, client_id) references public.users (id, client_id)
);

create index idx_memories_user on public.memories (user_id);
create index idx_memories_type on public.memories (memory_type);
create index idx_memories_client on public.memories (client_id);
-- HNSW instead of the spec's ivfflat: ivfflat picks its lists from the rows present when the index is
-- built, and built on an empty table (as here) it recalls badly. HNSW needs no training data.
create index idx_memories_embedding on public.memories using hnsw (embedding vector_cosine_ops);

create trigger fill_client_id before insert on public.memories
  for each row execute function public.revos_fill_client_id('user_id', 'users');
