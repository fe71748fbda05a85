"""What the audit trail costs a write, and how fast entries are sealed into the chain.

    .venv/bin/python bench/audit_write.py [--updates 2000] [--statements 100] [--writers 8] [--per-writer 250]

On a fresh database of the embedded PostgreSQL (every migration applied): one client with 100 pods. Each
phase runs as a worker does (`service_role`, claims with `sub`), one transaction per statement:

- single-row updates (`--updates` transactions, each `update pods set status_reason = ...` of one pod);
- 100-row updates (`--statements` transactions, each updating all 100 pods of the client);

each with the audit triggers of `pods` disabled and enabled, in turn, `--repeat` times (the least CPU of
each is kept: the machine is shared). Printed per audited row-write: the
PostgreSQL backend's CPU (utime + stime of its process in /proc), the wall time, and the time
pg_stat_user_functions gives the audit functions (track_functions = pl); the difference between enabled and
disabled is what the audit costs the write path. Then `--writers` connections of the same client each make
`--per-writer` single-row updates at once (rows/s: a per-client lock on the write path serialises them).
Last, when the database has a sealer (`revos_audit_seal`), every pending entry is sealed into `audit_log`:
entries/s and the sealing backend's CPU per entry; then a sealer that planned its statements while nothing
was pending seals a backlog of `--backlog` entries; and the chain is verified. A figure, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the database and CPU helpers of the pipeline bench

import pipeline_throughput as pipeline  # noqa: E402

PODS = 100
WORKER_CLAIMS = json.dumps({"role": "service_role", "sub": "bench"})
AUDIT_FUNCTIONS_SQL = (
    "select coalesce(sum(total_time), 0) as ms from pg_stat_user_functions where funcname like 'revos_audit%%'"
    " and funcname not in ('revos_audit_seal', 'revos_audit_canonical')"
)
AUDIT_TRIGGERS_SQL = """
select t.tgname from pg_trigger t
where t.tgrelid = 'public.pods'::regclass and not t.tgisinternal and t.tgfoid::regproc::text like '%revos_audit%'
"""


def backend_cpu(conn: psycopg.Connection[Any]) -> float:
    found = pipeline._stat(conn.info.backend_pid)
    return found[1] if found else 0.0


def function_ms(conn: psycopg.Connection[Any]) -> float:
    # This backend's counters reach the shared statistics when it next goes idle, if asked to.
    conn.execute("select pg_stat_force_next_flush()")
    conn.execute("select pg_stat_clear_snapshot()")
    row = conn.execute(AUDIT_FUNCTIONS_SQL).fetchone()
    return float(row["ms"]) if row else 0.0


def set_audit(conn: psycopg.Connection[Any], enabled: bool) -> None:
    verb = sql.SQL("enable" if enabled else "disable")
    for r in conn.execute(AUDIT_TRIGGERS_SQL).fetchall():
        conn.execute(
            sql.SQL("alter table public.pods {} trigger {}").format(verb, sql.Identifier(r["tgname"]))
        )


@dataclass
class Phase:
    name: str
    rows: int
    wall_s: float
    cpu_s: float
    function_ms: float

    def line(self) -> str:
        return (
            f"   {self.name:<34} {self.rows:>7} rows  {1e3 * self.cpu_s / self.rows:7.3f} ms CPU"
            f"  {1e3 * self.wall_s / self.rows:7.3f} ms wall  {self.function_ms / self.rows:7.3f} ms in audit"
            " functions  (per row)"
        )


def run_phase(
    conn: psycopg.Connection[Any], name: str, statements: list[tuple[str, tuple[Any, ...]]], rows: int
) -> Phase:
    ms0, cpu0, t0 = function_ms(conn), backend_cpu(conn), time.perf_counter()
    for query, params in statements:
        conn.execute("begin")
        conn.execute("select set_config('role', 'service_role', true), set_config('request.jwt.claims', %s, true)",
                     (WORKER_CLAIMS,))  # fmt: skip
        conn.execute(query, params)
        conn.execute("commit")
    wall, cpu = time.perf_counter() - t0, backend_cpu(conn) - cpu0
    return Phase(name, rows, wall, cpu, function_ms(conn) - ms0)


async def concurrent_writers(
    url: str, client_id: uuid.UUID, pods: list[uuid.UUID], writers: int, n: int
) -> float:
    async def writer(w: int) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for i in range(n):
                await conn.execute("begin")
                await conn.execute(
                    "select set_config('role', 'service_role', true),"
                    " set_config('request.jwt.claims', %s, true)",
                    (WORKER_CLAIMS,),
                )
                await conn.execute(
                    "update pods set status_reason = %s where id = %s",
                    (f"w{w}-{i}", pods[(w * n + i) % len(pods)]),
                )
                await conn.execute("commit")

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return writers * n / (time.perf_counter() - t0)


def seal_all(conn: psycopg.Connection[Any]) -> tuple[int, float, float] | None:
    """(entries sealed, wall s, CPU s of the sealing backend), or None without a sealer."""
    if conn.execute("select to_regproc('public.revos_audit_seal') is null as missing").fetchone()["missing"]:
        return None
    total, cpu0, t0 = 0, backend_cpu(conn), time.perf_counter()
    while n := conn.execute("select public.revos_audit_seal() as n").fetchone()["n"]:
        total += n
    return total, time.perf_counter() - t0, backend_cpu(conn) - cpu0


async def bench(args: argparse.Namespace, root_url: str) -> None:
    from revos.audit import verify_chain

    url = pipeline.fresh_database(root_url, "audit")
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute(
            sql.SQL("alter database {} set track_functions = 'pl'").format(sql.Identifier(conn.info.dbname))
        )
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        agency = conn.execute(
            "insert into agencies (name, slug) values ('bench', 'bench') returning id"
        ).fetchone()["id"]
        client = conn.execute(
            "insert into clients (agency_id, name) values (%s, 'bench') returning id", (agency,)
        ).fetchone()["id"]
        pods = [
            r["id"]
            for r in conn.execute(
                "insert into pods (client_id, name) select %s, 'pod ' || i from generate_series(1, %s) i"
                " returning id",
                (client, PODS),
            ).fetchall()
        ]
        if (sealed := seal_all(conn)) is not None:
            print(f"   set-up entries sealed: {sealed[0]}")
        single = [("update pods set status_reason = %s where id = %s", (f"r{i}", pods[i % PODS])) for i in range(args.updates)]  # fmt: skip
        many = [("update pods set status_reason = %s where client_id = %s", (f"m{i}", client)) for i in range(args.statements)]  # fmt: skip
        # Off and on in turn, `--repeat` times; each phase's least CPU is kept (the machine is shared).
        best: dict[str, Phase] = {}
        for _ in range(args.repeat):
            for enabled in (False, True):
                set_audit(conn, enabled)
                label = "audited" if enabled else "audit off"
                for phase in (
                    run_phase(conn, f"single-row updates, {label}", single, len(single)),
                    run_phase(conn, f"100-row updates, {label}", many, len(many) * PODS),
                ):
                    if phase.name not in best or phase.cpu_s < best[phase.name].cpu_s:
                        best[phase.name] = phase
        phases = list(best.values())
        print(
            f"== audit on the write path ({len(single)} single-row and {len(many)} 100-row update transactions,"
            f" least CPU of {args.repeat} runs)"
        )
        for phase in phases:
            print(phase.line())
        for kind in ("single-row", "100-row"):
            off, on = (p for p in phases if p.name.startswith(kind))
            print(
                f"   {kind} updates: the audit costs {1e3 * (on.cpu_s / on.rows - off.cpu_s / off.rows):.3f} ms CPU"
                f" and {1e3 * (on.wall_s / on.rows - off.wall_s / off.rows):.3f} ms wall per row-write"
            )

        rate = await concurrent_writers(url, client, pods, args.writers, args.per_writer)
        print(
            f"== {args.writers} writers of one client, {args.per_writer} single-row updates each: {rate:.0f} rows/s"
        )

        sealed = seal_all(conn)
        if sealed is None:
            print("== sealing: no sealer in this schema (entries are chained by the trigger at commit)")
        else:
            n, wall, cpu = sealed
            print(
                f"== sealing: {n} entries in {wall:.2f} s = {n / wall:.0f} entries/s,"
                f" {1e3 * cpu / max(n, 1):.3f} ms CPU per entry"
            )
            idle_sealer_backlog(url, client, args.backlog)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as aconn:
        [report] = await verify_chain(aconn, client)
    print(f"== {report}")


def idle_sealer_backlog(url: str, client: uuid.UUID, backlog: int) -> None:
    """A sealer whose connection planned its statements while nothing was pending (a new deployment, a
    quiet night), then a backlog of `backlog` entries: how fast it is sealed (migration
    20260215000100: 62-78 s of CPU per 20,000 entries before, when the plan joined each entry to a scan)."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("analyze audit_pending")
        for _ in range(8):  # past the plan cache's first five custom plans
            conn.execute("select public.revos_audit_seal(%s)", (client,))
        conn.execute(
            "insert into audit_pending (client_id, occurred_at, actor, actor_role, table_name, row_id,"
            " operation, changed_columns) select %s, now(), 'bench', 'service_role', 'pods', g::text,"
            " 'UPDATE', array['status_reason'] from generate_series(1, %s) g",
            (client, backlog),
        )
        sealed = seal_all(conn)
    assert sealed is not None
    n, wall, cpu = sealed
    print(
        f"== a backlog of {backlog} entries after an idle sealer: sealed {n} in {wall:.2f} s ="
        f" {n / wall:.0f} entries/s, {1e3 * cpu / max(n, 1):.3f} ms CPU per entry"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=2000, help="single-row update transactions per phase")
    parser.add_argument("--statements", type=int, default=100, help="100-row update transactions per phase")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase; the least CPU is shown")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-writer", type=int, default=250)
    parser.add_argument("--backlog", type=int, default=60_000, help="entries pending after an idle sealer")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with pipeline.embedded_server() as (root_url, _root):
        asyncio.run(bench(args, root_url))


if __name__ == "__main__":
    cli()
