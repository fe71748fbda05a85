"""Memory search at scale: p50/p99 latency and recall@10 against exact search, filtered by client; embedding
throughput.

    .venv/bin/python bench/memory_search.py [--memories 100000] [--clients 10] [--queries 200]
        [--database-url URL]

On a fresh database of a temporary embedded PostgreSQL (or of the server `--database-url` names; the bench
creates its own database there and needs a superuser), with every migration applied, it generates
`--memories` short LinkedIn-style texts (a few sentences from a vocabulary of topics, numbers and hooks),
embeds them all with the bundled wordllama model (timed: texts per second on this machine) and loads them
spread evenly over `--clients` clients of one agency, with COPY as the owner and the triggers off (synthetic
rows get no audit entries). The HNSW index of the migrations is dropped for the load and rebuilt after it
with its own definition, then VACUUM ANALYZE.

Then `--queries` other generated texts are searched, each as a user of one client (role `authenticated`,
Row Level Security on, k = 10, the deployment's default settings: iterative scan `relaxed_order`,
ef_search 100) exactly as `revos.memory.service.search` runs them; the same query is also run without the
index (exact search, the truth) in the same run. Printed: p50/p99 of the index search in SQL, p50/p99 of
the whole `search()` (embedding the query included), recall@10 (share of the exact top 10 the index search
returned), the same with a memory_type filter as well, and the plan of one search. Figures, not a
pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

TOPICS = [
    "cold email", "hiring engineers", "pricing pages", "webinars", "SEO", "product launches", "customer churn",
    "LinkedIn carousels", "sales calls", "onboarding", "newsletters", "fundraising", "remote teams",
    "conference talks", "case studies", "free trials", "referral programs", "podcast guesting", "ad budgets",
    "landing pages", "founder stories", "agency retainers", "SaaS metrics", "lead magnets", "job interviews",
]  # fmt: skip
HOOKS = [
    "Here is what nobody tells you about {t}.", "I spent {n} days testing {t}.", "Stop doing {t} like this.",
    "{n} lessons from a year of {t}.", "The {t} playbook that got us {n} leads.", "Why {t} failed for us.",
    "A simple checklist for {t}.", "What {n} clients taught me about {t}.", "Unpopular opinion: {t} is overrated.",
]  # fmt: skip
BODIES = [
    "We tried {n} variations and one clearly won.", "Most teams skip the boring part, and it shows.",
    "The results surprised everyone on the team.", "It took {n} weeks before anything moved.",
    "Numbers in the first line doubled the replies.", "Short sentences, one idea per line, no jargon.",
    "Our best month brought {n} qualified calls.", "The template is below, steal it.",
]  # fmt: skip
CTAS = ["Comment GUIDE and I will send it.", "Want the template? Comment below.", "Agree or disagree?", ""]
TYPES = ["successful_post", "conversion_pattern", "note", "voice_sample"]
K = 10


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def text(rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    parts = [rng.choice(HOOKS), rng.choice(BODIES), rng.choice(BODIES), rng.choice(CTAS)]
    return " ".join(p.format(t=topic, n=rng.randint(2, 400)) for p in parts if p)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.contextmanager
def server_url(database_url: str | None) -> Iterator[str]:
    if database_url:
        yield database_url
        return
    from revos.db.embedded import start_embedded, stop_embedded

    root = Path(tempfile.mkdtemp(prefix="rms-", dir="/tmp"))  # short: unix socket path limit
    try:
        yield start_embedded(root, stop_at_exit=True)
    finally:
        stop_embedded(root)
        shutil.rmtree(root, ignore_errors=True)


def load(url: str, args: argparse.Namespace) -> tuple[list[uuid.UUID], float]:
    """Clients and memories; returns the clients and the embedding throughput (texts/s)."""
    from revos.ai import embeddings
    from revos.memory.repo import vector_literal

    rng = random.Random(11)
    embedder = embeddings.WordLlamaEmbedder()
    model = embeddings.signature(embedder)
    texts = [text(rng) for _ in range(args.memories)]
    embedder.embed_sync(texts[:100])  # the model's files are loaded once, not timed
    started = time.perf_counter()
    vectors = embedder.embed_sync(texts)
    throughput = len(texts) / (time.perf_counter() - started)
    log(f"embedded {len(texts):,} texts with wordllama: {throughput:,.0f} texts/s")

    with psycopg.connect(url, autocommit=True) as conn:
        agency = conn.execute(
            "insert into agencies (name, slug) values ('Bench', 'bench') returning id"
        ).fetchone()
        assert agency is not None
        clients = [
            row[0]
            for i in range(args.clients)
            if (row := conn.execute(
                "insert into clients (agency_id, name) values (%s, %s) returning id", (agency[0], f"Client {i}")
            ).fetchone())
        ]  # fmt: skip
        index = conn.execute(
            "select indexdef from pg_indexes where indexname = 'idx_memories_embedding'"
        ).fetchone()
        assert index is not None
        conn.execute("drop index idx_memories_embedding")
        with conn.transaction():
            conn.execute("set local session_replication_role = replica")
            with conn.cursor().copy(
                "copy memories (client_id, memory_type, content, embedding, embedding_model) from stdin"
            ) as copy:
                for i, (content, vector) in enumerate(zip(texts, vectors, strict=True)):
                    vec = vector_literal(embeddings.pad(vector))
                    copy.write_row((clients[i % len(clients)], TYPES[i % len(TYPES)], content, vec, model))
        log(f"loaded {len(texts):,} memories over {len(clients)} clients; building the HNSW index")
        started = time.perf_counter()
        conn.execute("set maintenance_work_mem = '2GB'")
        conn.execute(index[0])
        log(f"HNSW index built in {time.perf_counter() - started:.0f} s")
        conn.execute("vacuum analyze memories")
    return clients, throughput


async def measure(url: str, clients: list[uuid.UUID], args: argparse.Namespace) -> None:
    from revos.ai import embeddings
    from revos.config import Settings
    from revos.db.pool import Database
    from revos.memory import repo, service

    settings = Settings(database_url=url)
    embedder = embeddings.embedder(settings)
    model = embeddings.signature(embedder)
    rng = random.Random(99)
    queries = [text(rng) for _ in range(args.queries)]

    class Rt:  # what search() reads of a Runtime
        def __init__(self, db: Database) -> None:
            self.settings, self.db = settings, db

    async with Database(url, max_size=2) as db:
        runtime: Any = Rt(db)
        for label, with_type in (("client", False), ("client + memory_type", True)):
            sql_ms: list[float] = []
            full_ms: list[float] = []
            found = 0
            for i, query in enumerate(queries):
                client_id = clients[i % len(clients)]
                memory_type = TYPES[i % len(TYPES)] if with_type else None
                claims = {"sub": str(uuid.uuid4()), "role": "authenticated", "client_id": str(client_id)}
                [vector] = await embedder.embed([query])
                padded = embeddings.pad(vector)
                async with db.tenant(claims) as conn:
                    truth = await repo.nearest(
                        conn, vector=padded, client_id=client_id, model=model, k=K, max_distance=2.0,
                        memory_type=memory_type, exact=True,
                    )  # fmt: skip
                    await service.use_index(settings, conn, K)
                    started = time.perf_counter()
                    hits = await repo.nearest(
                        conn, vector=padded, client_id=client_id, model=model, k=K, max_distance=2.0,
                        memory_type=memory_type,
                    )  # fmt: skip
                    sql_ms.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    await service.search(runtime, conn, client_id=client_id, query=query, k=K,
                                         threshold=-1, memory_type=memory_type)  # fmt: skip
                    full_ms.append((time.perf_counter() - started) * 1000)
                found += len({h["id"] for h in hits} & {t["id"] for t in truth})
            recall = found / (len(queries) * K)
            print(
                f"filter {label:<22} index search p50 {statistics.median(sql_ms):6.2f} ms"
                f"  p99 {pct(sql_ms, 0.99):6.2f} ms | search() p50 {statistics.median(full_ms):6.2f} ms"
                f"  p99 {pct(full_ms, 0.99):6.2f} ms | recall@10 {recall:.3f}",
                flush=True,
            )
        claims = {"sub": str(uuid.uuid4()), "role": "authenticated", "client_id": str(clients[0])}
        [vector] = await embedder.embed([queries[0]])
        async with db.tenant(claims) as conn:
            await service.use_index(settings, conn, K)
            cur = await conn.execute(
                "explain (analyze, costs off) select id from memories where client_id = %s and embedding_model = %s"
                " order by embedding <=> %s::vector limit 10",
                (clients[0], model, repo.vector_literal(embeddings.pad(vector))),
            )
            plan = [r["QUERY PLAN"] for r in await cur.fetchall()]
        print("plan of one search (vector elided):")
        for line in plan:
            print("   ", line if len(line) < 160 else line[:100] + " ...")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200, help="searches per filter kind")
    parser.add_argument("--database-url", help="a server to create the bench database on (default: embedded)")
    args = parser.parse_args()

    from revos import migrations

    with server_url(args.database_url) as root:
        name = f"memory_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(root, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        url = urlunsplit(urlsplit(root)._replace(path=f"/{name}"))
        try:
            migrations.migrate(url)
            clients, throughput = load(url, args)
            asyncio.run(measure(url, clients, args))
            print(f"embedding throughput (wordllama, one process): {throughput:,.0f} texts/s")
        finally:
            with psycopg.connect(root, autocommit=True) as conn:
                conn.execute(f'drop database "{name}" with (force)')


if __name__ == "__main__":
    main()
