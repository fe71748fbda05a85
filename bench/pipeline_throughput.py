"""Pipeline throughput: trigger comments at LinkedIn → leads → step-1 DMs confirmed, per second; and, in
the same run, the queue's raw no-op job throughput.

    .venv/bin/python bench/pipeline_throughput.py [--comments 2000] [--accounts 1 [10 ...]]
        [--concurrency 16] [--sim process|thread|loop] [--noop-jobs 2000] [--timeout 600] [--funnel]

For each `--accounts` value M, on a fresh database of the embedded PostgreSQL (every migration applied):
one client, one active campaign (step-1 delay 0), M connected LinkedIn accounts with one published post
each, and N members who are 1st-degree connections of the account they comment under (so step 1 is a DM,
no invitation). N trigger comments are written in the simulator first; then a real `QueueWorker` starts
(periodic pollers and dispatchers included), and the run lasts until every step-1 DM is confirmed in the
action ledger (`linkedin_actions` kind dm, status done) and every sequence waits for a reply
(`dm_sequences` stage awaiting_reply). Printed: comments/s into leads, step-1 DMs/s (end to end and per
account), latency percentiles, the CPU used by the worker process, PostgreSQL and the simulator, and
checks against the simulator's own record.

The account safety policy is set out of the way (per-account overrides: gap 0, caps 10^9 a day, working
hours off, no warm-up) and the simulator injects no latency and enforces no budget: the figures measure
revOS (polling, lead creation, the queue, the ledger, PostgreSQL), not the safety policy. The comment
poller is scheduled every second (default 20 s) so the first poll does not wait for the cron.

DMs of one LinkedIn account are sent one at a time by design (one `dms.run_account` job per account holds
the account's lock): the single-account figure is the per-account ceiling, and more accounts run in
parallel up to the worker's concurrency.

With `--funnel`, the run follows each lead to its end instead: every member answers the first DM with an
email at once (Unipile's webhook reaches this process's API, served here), step 2 confirms it, the lead
is delivered by signed webhook to a local ESP receiver, step 3 sends the link (step delays 0). The run
lasts until every sequence is completed and every delivery succeeded; the figures are per lead and per
DM (three per lead). The CPU of "worker" is then this process's: the worker and the API.

Printed in both modes, per lead: commits (`pg_stat_database.xact_commit`), audit entries by table, and
the CPU milliseconds of the worker process and PostgreSQL, per lead and per DM. The reply poller, a
fallback for lost webhooks every 15 min, is kept out of the runs (once a year): a run that crossed a
quarter hour measured one pass of it.

The simulator runs in its own process by default (`--sim process`), as Unipile is a remote service:
its CPU is not spent on the worker's event loop. `thread` and `loop` serve it from this process.
A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the queue's no-op bench lives next to this one

SIM_KEY = "bench-sim-key"
TRIGGER = "GUIDE"
NO_LIMIT = 100_000  # the largest cap an account override may take (accounts.safety)
EVERY_SECOND = "* * * * * *"
ACCOUNT_SAFETY = {
    "gap_min_seconds": 0,
    "gap_max_seconds": 0,
    "cap_dm": NO_LIMIT,
    "cap_invitation": NO_LIMIT,
    "cap_profile_view": NO_LIMIT,
    "cap_invitation_weekly": NO_LIMIT,
    "working_hours_enabled": False,
    "warmup_days": 0,
}
CAMPAIGN_SETTINGS = {"step1_delay_min_seconds": 0, "step1_delay_max_seconds": 0}
FUNNEL_SETTINGS = {**CAMPAIGN_SETTINGS, "step2_delay_seconds": 0, "step3_delay_seconds": 0}


# --- the simulated LinkedIn -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimAccount:
    unipile_account_id: str
    owner_provider_id: str
    post_id: str
    social_id: str
    comments: int


def build_world(accounts: int, comments: int, funnel: bool = False) -> tuple[Any, list[SimAccount]]:
    """A simulator with `accounts` connected logins, one post each, and `comments` trigger comments by as
    many members, spread round-robin over the posts; each member is connected to the post's author (and,
    for `funnel`, answers the first DM with an email at once)."""
    from revos.sim import Persona, Simulator

    budgets = dict.fromkeys(
        ("invitations", "profile_views", "messages", "comments", "reactions", "posts"), NO_LIMIT
    )
    sim = Simulator(api_key=SIM_KEY, seed=7, budgets=budgets)
    logins = [sim.add_account(name=f"Owner {n}") for n in range(accounts)]
    connected = [sim.connect_account(login) for login in logins]
    posts = [sim.add_post(login, f"Comment {TRIGGER} below and I'll send you the guide") for login in logins]
    for n in range(comments):
        i = n % accounts
        persona = Persona(reply="email", reply_delay=0.0) if funnel else None
        member = sim.add_member(f"Member{n}", "Bench", connected_to=[logins[i]], persona=persona)
        sim.add_comment(posts[i], member, f"{TRIGGER} please")
    world = [
        SimAccount(
            account.id,
            login.provider_id,
            post.id,
            post.social_id,
            comments // accounts + (1 if i < comments % accounts else 0),
        )
        for i, (login, account, post) in enumerate(zip(logins, connected, posts, strict=True))
    ]
    return sim, world


def sim_stats(sim: Any) -> dict[str, int]:
    return {"dms": len(sim.sent_messages()), "requests": len(sim.requests)}


def _sim_process(pipe: Connection, accounts: int, comments: int, funnel: bool) -> None:
    from revos.sim import serve

    sim, world = build_world(accounts, comments, funnel)

    async def main() -> None:
        async with serve(sim, host="127.0.0.1", port=0) as url:
            pipe.send((url, world))
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
            pipe.send(sim_stats(sim))

    asyncio.run(main())


@dataclass
class SimHandle:
    url: str
    world: list[SimAccount]
    pid: int | None = None  # its own process, when it has one
    stats: dict[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def simulator(mode: str, accounts: int, comments: int, funnel: bool) -> AsyncIterator[SimHandle]:
    """The simulator served over loopback HTTP; `stats` (DMs it recorded) is filled when it stops."""
    from revos.sim import serve, serve_in_thread

    if mode == "process":
        ctx = multiprocessing.get_context("spawn")
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=_sim_process, args=(theirs, accounts, comments, funnel), daemon=True)
        proc.start()
        loop = asyncio.get_running_loop()
        url, world = await loop.run_in_executor(None, ours.recv)
        handle = SimHandle(url, world, proc.pid)
        try:
            yield handle
        finally:
            ours.send("stop")
            handle.stats = await loop.run_in_executor(None, ours.recv)
            await loop.run_in_executor(None, proc.join, 15)
        return
    sim, world = build_world(accounts, comments, funnel)
    if mode == "thread":
        with serve_in_thread(sim, host="127.0.0.1", port=0) as url:
            handle = SimHandle(url, world)
            yield handle
    else:
        async with serve(sim, host="127.0.0.1", port=0) as url:
            handle = SimHandle(url, world)
            yield handle
    handle.stats = sim_stats(sim)


# --- revOS set-up ----------------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def fresh_database(root_url: str, prefix: str) -> str:
    from revos import migrations

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(root_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_database(root_url, name)
    migrations.migrate(url)
    return url


async def set_up(url: str, world: list[SimAccount], funnel: bool = False) -> tuple[Any, Any]:
    """Client, lead magnet, active campaign, accounts and published posts, written as the owner.
    Returns the client's and the campaign's ids."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:

        async def one(query: str, *params: Any) -> Any:
            row = await (await conn.execute(query, params)).fetchone()
            assert row is not None
            return row["id"]

        agency = await one("insert into agencies (name, slug) values ('Bench', 'bench') returning id")
        client = await one("insert into clients (agency_id, name) values (%s, 'Bench') returning id", agency)
        magnet = await one(
            "insert into lead_magnets (client_id, name, file_path, file_type, file_size)"
            " values (%s, 'The Growth Guide', 'bench/guide.pdf', 'application/pdf', 10) returning id",
            client,
        )
        campaign = await one(
            "insert into campaigns (client_id, name, trigger_word, trigger_words, lead_magnet_id, settings,"
            " status) values (%s, 'Bench', %s, %s, %s, %s, 'active') returning id",
            client,
            TRIGGER,
            [TRIGGER],
            magnet,
            Jsonb(FUNNEL_SETTINGS if funnel else CAMPAIGN_SETTINGS),
        )
        for n, acc in enumerate(world):
            account = await one(
                "insert into linkedin_accounts (client_id, account_name, linkedin_email, linkedin_password,"
                " unipile_account_id, status, provider_status, profile_data, safety, timezone)"
                " values (%s, %s, %s, %s, %s, 'active', 'OK', %s, %s, 'UTC') returning id",
                client,
                f"Bench account {n}",
                b"\x00",
                b"\x00",
                acc.unipile_account_id,
                Jsonb({"provider_id": acc.owner_provider_id}),
                Jsonb(ACCOUNT_SAFETY),
            )
            await one(
                "insert into posts (client_id, campaign_id, linkedin_account_id, content, trigger_word,"
                " status, unipile_post_id, social_id, published_at, poll_next_at)"
                " values (%s, %s, %s, %s, %s, 'published', %s, %s, now(), now()) returning id",
                client,
                campaign,
                account,
                f"Comment {TRIGGER} below",
                TRIGGER,
                acc.post_id,
                acc.social_id,
            )
    return client, campaign


async def add_esp(runtime: Any, url: str, client_id: Any, campaign_id: Any) -> Any:
    """A local ESP receiver checking the signatures, as the campaign's webhook endpoint."""
    from revos.webhooks import schemas, service
    from revos.webhooks.receiver import Receiver

    receiver = await Receiver(record=False).start()
    body = schemas.WebhookConfigCreate(name="ESP", esp_type="custom", url=receiver.url)
    async with runtime.db.service(actor="bench") as conn:
        config, receiver.secret = await service.create_config(
            conn,
            sealer=service.ConnSealer(conn, runtime.vault),
            settings=runtime.settings,
            client_id=client_id,
            body=body,
        )
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "update campaigns set webhook_config_id = %s where id = %s", (config["id"], campaign_id)
        )
    return receiver


def configure(url: str, sim_url: str, concurrency: int) -> Any:
    """The process settings (also what `get_settings()` returns to the code that reads it)."""
    from revos.config import get_settings, reset_settings

    reset_settings()
    settings = get_settings()
    settings.database_url = url
    settings.unipile_dsn = sim_url
    settings.unipile_api_key = SIM_KEY  # type: ignore[assignment]
    settings.worker_concurrency = concurrency
    settings.worker_poll_interval_seconds = 0.5
    settings.db_pool_max = concurrency + 4
    settings.cron_posts_poll_due = EVERY_SECOND
    # The reply poller is a fallback for lost webhooks, every 15 min: kept out of the measured runs.
    settings.cron_dms_poll_replies = "0 0 1 1 *"
    return settings


# --- where the CPU goes -----------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_REAPED = -1  # the postmaster's exited children, in a snapshot's PostgreSQL part


def _fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (None when gone or not Linux)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, from /proc (None when gone or not Linux)."""
    fields = _fields(pid)
    if fields is None:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _reaped(pid: int) -> float:
    """CPU seconds of a process's children that have exited and been waited for (cutime + cstime)."""
    fields = _fields(pid)
    return 0.0 if fields is None else (int(fields[13]) + int(fields[14])) / _TICK


@dataclass
class Meter:
    """CPU seconds of named processes (a part may be several processes: two workers), and of the
    PostgreSQL server's other processes, from /proc: the live ones, and those that exited meanwhile
    (the postmaster's reaped children: autovacuum and parallel workers, pool connections recycled
    after their lifetime), whose CPU was missed before."""

    pids: Mapping[str, int | Sequence[int] | None]
    postmaster: int | None
    start: dict[str, dict[int, float]] = field(default_factory=dict)
    last: dict[str, dict[int, float]] = field(default_factory=dict)

    def _parts(self) -> dict[str, list[int]]:
        return {
            part: [] if pid is None else [pid] if isinstance(pid, int) else list(pid)
            for part, pid in self.pids.items()
        }

    def _snapshot(self) -> dict[str, dict[int, float]]:
        parts = self._parts()
        snap: dict[str, dict[int, float]] = {part: {} for part in (*parts, "postgres")}
        named = {pid for pids in parts.values() for pid in pids}  # a backend measured on its own (a monitor)
        for part, pids in parts.items():
            for pid in pids:
                if (found := _stat(pid)) is not None:
                    snap[part][pid] = found[1]
        if self.postmaster is not None:
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit() or int(entry.name) in named:
                    continue
                backend = int(entry.name)
                found = _stat(backend)
                if found is not None and self.postmaster in (backend, found[0]):
                    snap["postgres"][backend] = found[1]
            snap["postgres"][_REAPED] = _reaped(self.postmaster)
        return snap

    def begin(self) -> None:
        self.start = self._snapshot()

    def end(self) -> dict[str, float]:
        """CPU seconds per part since `begin`. A backend that exited meanwhile counts by its reaped total
        less what it had at `begin` (a named one, the monitor, does not exit before the end)."""
        now = self.last = self._snapshot()
        out = {
            part: sum(cpu - self.start[part].get(pid, 0.0) for pid, cpu in pids.items())
            for part, pids in now.items()
        }
        gone = set(self.start.get("postgres", {})) - set(now["postgres"])
        out["postgres"] -= sum(self.start["postgres"][pid] for pid in gone)
        return out

    def postgres_by(self, names: Mapping[int, str]) -> dict[str, float]:
        """PostgreSQL's CPU seconds between `begin` and `end`, per name of its processes (`names`: pid →
        name, e.g. from pg_stat_activity's application_name at the end); a process not named, or that
        exited meanwhile, counts as "other"."""
        out: dict[str, float] = {}
        start, now = self.start.get("postgres", {}), self.last.get("postgres", {})
        for pid, cpu in now.items():
            name = names.get(pid, "other")
            out[name] = out.get(name, 0.0) + cpu - start.get(pid, 0.0)
        gone = set(start) - set(now)
        out["other"] = out.get("other", 0.0) - sum(start[pid] for pid in gone)
        return out


def CpuMeter(postmaster: int | None, sim_pid: int | None) -> Meter:
    """CPU seconds used by this process (worker, monitor, and the simulator unless it has a process of
    its own), by the PostgreSQL processes of this bench's server, and by the simulator's process."""
    return Meter({"worker": os.getpid(), "simulator": sim_pid}, postmaster)


def postmaster_pid(root: Path) -> int | None:
    try:
        return int((root / "pg" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# --- one measured run --------------------------------------------------------------------------------------


@dataclass
class Result:
    accounts: int
    comments: int
    concurrency: int
    leads: int = 0
    dms: int = 0
    awaiting_reply: int = 0
    finished: bool = False
    first_lead_s: float = 0.0  # the first page's transaction began
    all_leads_s: float = 0.0  # every lead committed, as seen by a 0.1 s poll of the database
    first_dm_s: float = 0.0
    last_dm_s: float = 0.0
    since_comment: list[float] = field(default_factory=list)  # comments existed -> DM confirmed
    since_lead: list[float] = field(default_factory=list)  # lead created -> DM confirmed
    per_account: list[float] = field(default_factory=list)  # DMs/s of each account, first to last DM
    failed_sequences: int = 0
    unsettled_actions: int = 0
    failed_jobs: int = 0
    sim_dms: int = 0
    sim_requests: int = 0
    wall_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    funnel: bool = False
    all_dms: int = 0  # every DM confirmed (three per lead in a funnel run)
    completed: int = 0
    delivered: int = 0
    commits: int = 0  # transactions committed in the database during the run
    audit: dict[str, int] = field(default_factory=dict)  # audit entries written during the run, by table


PROGRESS_SQL = """
select (select count(*) from leads) as leads,
       (select count(*) from linkedin_actions where kind = 'dm' and status = 'done') as dms,
       (select count(*) from dm_sequences where stage = 'awaiting_reply') as awaiting_reply,
       (select count(*) from dm_sequences where status = 'completed') as completed,
       (select count(*) from webhook_deliveries where status = 'success') as delivered
"""


def finished(row: dict[str, Any], comments: int, funnel: bool) -> bool:
    if funnel:
        return row["completed"] >= comments and row["delivered"] >= comments
    return row["dms"] >= comments and row["awaiting_reply"] >= comments


async def run_pipeline(
    root_url: str,
    postmaster: int | None,
    comments: int,
    accounts: int,
    concurrency: int,
    mode: str,
    give_up_after: float,
    funnel: bool = False,
) -> Result:
    from revos.accounts.provider import close_linkedin_client, configure_linkedin_client, ensure_webhooks
    from revos.queue.worker import QueueWorker
    from revos.runtime import Runtime

    url = fresh_database(root_url, f"pipe{accounts}")
    result = Result(accounts, comments, concurrency, funnel=funnel)
    async with simulator(mode, accounts, comments, funnel) as sim, contextlib.AsyncExitStack() as stack:
        client_id, campaign_id = await set_up(url, sim.world, funnel)
        settings = configure(url, sim.url, concurrency)
        runtime = Runtime.build(settings)
        await runtime.open()
        configure_linkedin_client(runtime, sim.url, SIM_KEY)
        if funnel:
            from day import serve_api  # the day's bench serves the API the same way

            settings.public_base_url = await stack.enter_async_context(serve_api(runtime))
            settings.webhook_allow_http_loopback = True  # the ESP receiver listens on 127.0.0.1
            settings.cron_webhook_dispatch = EVERY_SECOND
            await ensure_webhooks(runtime)  # Unipile's events to this process's API
            receiver = await add_esp(runtime, url, client_id, campaign_id)
            stack.push_async_callback(receiver.stop)
        worker = QueueWorker(runtime, concurrency=concurrency, name="bench-pipeline")
        cpu = CpuMeter(postmaster, sim.pid)
        commits_before = await xact_commits(url)
        polls = 0
        cpu.begin()
        # The comments exist at LinkedIn from here on.
        t0 = datetime.now(UTC)
        started = time.perf_counter()
        run = asyncio.ensure_future(worker.run())
        try:
            async with await psycopg.AsyncConnection.connect(
                url, autocommit=True, row_factory=dict_row
            ) as conn:
                shown = started
                while time.perf_counter() - started < give_up_after:
                    row = await (await conn.execute(PROGRESS_SQL)).fetchone()
                    polls += 1
                    assert row is not None
                    if row["leads"] >= comments and not result.all_leads_s:
                        result.all_leads_s = time.perf_counter() - started
                    if finished(row, comments, funnel):
                        result.finished = True
                        break
                    if time.perf_counter() - shown >= 10:
                        shown = time.perf_counter()
                        print(
                            f"  … {shown - started:5.0f} s: {row['leads']} leads,"
                            f" {row['dms']} DMs confirmed, {row['completed']} sequences completed,"
                            f" {row['delivered']} leads delivered",
                            file=sys.stderr,
                        )
                    await asyncio.sleep(0.1)
                result.wall_s = time.perf_counter() - started
                result.cpu = cpu.end()
                await collect(conn, result, t0)
        finally:
            worker.stop()
            await run
            await close_linkedin_client(runtime)
            await runtime.close()
        # Closed connections have flushed their statistics; the monitor's own polls are not counted.
        result.commits = await xact_commits(url) - commits_before - polls - 1
    result.sim_dms = sim.stats.get("dms", 0)
    result.sim_requests = sim.stats.get("requests", 0)
    return result


async def xact_commits(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (
            await conn.execute("select xact_commit from pg_stat_database where datname = current_database()")
        ).fetchone()
    return int(row[0]) if row else 0


async def collect(conn: psycopg.AsyncConnection[dict[str, Any]], result: Result, t0: datetime) -> None:
    """The figures, from the database's own timestamps."""

    def seconds(at: datetime) -> float:
        return (at - t0).total_seconds()

    leads = await (await conn.execute("select count(*) as n, min(created_at) as first from leads")).fetchone()
    assert leads is not None
    result.leads = leads["n"]
    if leads["n"]:
        result.first_lead_s = seconds(leads["first"])
    rows = await (
        await conn.execute(
            "select a.done_at, a.linkedin_account_id, l.created_at as lead_at from linkedin_actions a"
            " join dm_sequences s on a.action_key = 'dm:' || s.id || ':1'"
            " join leads l on l.id = s.lead_id"
            " where a.kind = 'dm' and a.status = 'done'"
        )
    ).fetchall()
    result.dms = len(rows)
    if rows:
        done = [seconds(r["done_at"]) for r in rows]
        result.first_dm_s, result.last_dm_s = min(done), max(done)
        result.since_comment = done
        result.since_lead = [(r["done_at"] - r["lead_at"]).total_seconds() for r in rows]
        by_account: dict[Any, list[float]] = {}
        for r, at in zip(rows, done, strict=True):
            by_account.setdefault(r["linkedin_account_id"], []).append(at)
        result.per_account = [
            len(times) / (max(times) - min(times)) for times in by_account.values() if max(times) > min(times)
        ]
    checks = await (
        await conn.execute(
            "select (select count(*) from dm_sequences where stage = 'awaiting_reply') as awaiting,"
            " (select count(*) from dm_sequences where status = 'failed') as failed,"
            " (select count(*) from linkedin_actions where status <> 'done') as unsettled,"
            " (select count(*) from procrastinate.procrastinate_jobs where status = 'failed') as failed_jobs"
        )
    ).fetchone()
    assert checks is not None
    while (await (await conn.execute("select public.revos_audit_seal() as n")).fetchone() or {}).get("n"):
        pass  # entries the worker's sealer had not chained yet
    audit = await (
        await conn.execute(
            "select table_name, count(*) as n from audit_log where occurred_at >= %s group by 1 order by 2 desc",
            (t0,),
        )
    ).fetchall()
    result.audit = {r["table_name"]: r["n"] for r in audit}
    totals = await (
        await conn.execute(
            "select (select count(*) from linkedin_actions where kind = 'dm' and status = 'done') as dms,"
            " (select count(*) from dm_sequences where status = 'completed') as completed,"
            " (select count(*) from webhook_deliveries where status = 'success') as delivered"
        )
    ).fetchone()
    assert totals is not None
    result.all_dms, result.completed, result.delivered = (
        totals["dms"],
        totals["completed"],
        totals["delivered"],
    )
    result.awaiting_reply = checks["awaiting"]
    result.failed_sequences = checks["failed"]
    result.unsettled_actions = checks["unsettled"]
    result.failed_jobs = checks["failed_jobs"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def report(r: Result, mode: str) -> None:
    where = {
        "process": "in its own process",
        "thread": "on a thread of this process",
        "loop": "on the worker's loop",
    }
    n = r.comments
    print(
        f"\n== {n} trigger comments, {r.accounts} LinkedIn account{'s' if r.accounts > 1 else ''},"
        f" worker concurrency {r.concurrency}; simulator {where[mode]}, loopback HTTP, no injected latency"
    )
    print(
        "   safety policy out of the way (gap 0 s, caps 10^9/day, working hours off, warm-up 0):"
        " this measures revOS, not the safety policy"
    )
    if not r.finished:
        print(f"   NOT FINISHED: {r.leads} leads, {r.dms} step-1 DMs confirmed when the timeout hit")
    if r.leads and r.all_leads_s:
        print(
            f"   comments -> leads         : {r.leads} leads by {r.all_leads_s:6.2f} s"
            f" = {r.leads / r.all_leads_s:7.1f} comments/s (first poll page began at {r.first_lead_s:.2f} s)"
        )
    if r.dms:
        span = r.last_dm_s - r.first_dm_s
        print(
            f"   step-1 DMs confirmed      : {r.dms} by {r.last_dm_s:6.2f} s = {r.dms / r.last_dm_s:7.1f} DMs/s"
            f" end to end; {r.dms / span if span else float('nan'):.1f} DMs/s from first to last DM"
        )
        during = sum(1 for at in r.since_comment if at <= r.all_leads_s) if r.all_leads_s else 0
        print(
            f"   while polling             : {during} step-1 DMs confirmed before the last lead was committed"
        )
        print(
            f"   per account               : {statistics.mean(r.per_account) if r.per_account else float('nan'):7.1f}"
            f" DMs/s (mean of {len(r.per_account)}; min {min(r.per_account, default=float('nan')):.1f},"
            f" max {max(r.per_account, default=float('nan')):.1f})"
        )
        print(
            f"   latency comment -> DM     : p50 {pct(r.since_comment, 0.5):6.2f} s, p95"
            f" {pct(r.since_comment, 0.95):6.2f} s (every comment exists at 0 s)"
        )
        print(
            f"   latency lead -> DM        : p50 {pct(r.since_lead, 0.5):6.2f} s, p95 {pct(r.since_lead, 0.95):6.2f} s"
        )
    if r.leads and r.commits > 0:
        audited = sum(r.audit.values())
        tables = ", ".join(f"{table} {n / r.leads:.1f}" for table, n in r.audit.items())
        print(
            f"   database work per lead    : ≈{r.commits / r.leads:.1f} commits (a pool's connection check"
            f" counts as one); {audited / r.leads:.1f} audit entries ({tables})"
        )
    if r.funnel:
        print(
            f"   whole funnel              : {r.completed} sequences completed, {r.delivered} leads delivered"
            f" to the ESP, {r.all_dms} DMs confirmed by {r.wall_s:6.2f} s"
            f" = {r.all_dms / r.wall_s if r.wall_s else float('nan'):7.1f} DMs/s,"
            f" {r.completed / r.wall_s if r.wall_s else float('nan'):6.1f} leads/s"
        )
    if r.cpu and r.leads and r.all_dms:
        per = ", ".join(
            f"{part} {1000 * seconds / r.leads:.1f} ms/lead, {1000 * seconds / r.all_dms:.2f} ms/DM"
            for part, seconds in r.cpu.items()
            if part != "simulator"
        )
        print(f"   CPU per lead and per DM   : {per}")
    if r.cpu and r.wall_s:
        names = {"worker": "worker" if mode == "process" else "worker + simulator"}
        parts = ", ".join(
            f"{names.get(part, part)} {seconds:.1f} s ({100 * seconds / r.wall_s:.0f}% of a core)"
            for part, seconds in r.cpu.items()
            if part != "simulator" or mode == "process"
        )
        print(f"   CPU during the run        : {r.wall_s:.1f} s wall, {os.cpu_count()} cores; {parts}")
    print(
        f"   checks                    : {r.awaiting_reply} sequences awaiting_reply, {r.failed_sequences} failed,"
        f" {r.unsettled_actions} ledger actions not done, {r.failed_jobs} failed jobs;"
        f" simulator recorded {r.sim_dms} DMs over {r.sim_requests} requests"
    )


def summary(results: list[Result]) -> None:
    print("\naccounts  comments/s into leads  step-1 DMs/s (end to end)  DMs/s per account  p50 s  p95 s")
    for r in results:
        rate_leads = r.leads / r.all_leads_s if r.leads and r.all_leads_s else float("nan")
        rate_dms = r.dms / r.last_dm_s if r.dms and r.last_dm_s else float("nan")
        per = statistics.mean(r.per_account) if r.per_account else float("nan")
        print(
            f"{r.accounts:>8}  {rate_leads:>21.1f}  {rate_dms:>25.1f}  {per:>17.1f}"
            f"  {pct(r.since_comment, 0.5):>5.1f}  {pct(r.since_comment, 0.95):>5.1f}"
        )


# --- the whole run --------------------------------------------------------------------------------------


@contextlib.contextmanager
def embedded_server() -> Iterator[tuple[str, Path]]:
    from revos.db.embedded import start_embedded, stop_embedded

    root = Path(tempfile.mkdtemp(prefix="rpt-", dir="/tmp"))  # short: unix socket path limit
    # revOS's settings for the bench's processes (read from the environment): throwaway keys and data.
    os.environ.update(
        {
            "REVOS_ENV": "test",
            "REVOS_DATA_DIR": str(root / "data"),
            "REVOS_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "REVOS_JWT_SECRET": "bench-jwt-secret-long-enough-for-hs256-signing",
        }
    )
    try:
        yield start_embedded(root, stop_at_exit=True), root
    finally:
        stop_embedded(root)
        shutil.rmtree(root, ignore_errors=True)


async def main(args: argparse.Namespace, root_url: str, root: Path) -> None:
    results = []
    for accounts in args.accounts:
        result = await run_pipeline(
            root_url,
            postmaster_pid(root),
            args.comments,
            accounts,
            args.concurrency,
            args.sim,
            args.timeout,
            args.funnel,
        )
        report(result, args.sim)
        results.append(result)
    if len(results) > 1:
        summary(results)
    if args.noop_jobs:
        import queue_noop

        print(
            f"\n== queue, raw no-op jobs ({args.noop_jobs} per way, worker concurrency {args.concurrency},"
            " fresh database on the same server)"
        )
        await queue_noop.bench(
            fresh_database(root_url, "noop"), root / "data", args.noop_jobs, args.concurrency, 500
        )


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--accounts", type=int, nargs="+", default=[1], help="one run per value, e.g. 1 10")
    parser.add_argument("--concurrency", type=int, default=16, help="jobs the worker runs at once")
    parser.add_argument("--sim", choices=("process", "thread", "loop"), default="process")
    parser.add_argument("--noop-jobs", type=int, default=2000, help="0 skips the queue's no-op figure")
    parser.add_argument("--timeout", type=float, default=600.0, help="wall seconds per run")
    parser.add_argument(
        "--funnel", action="store_true", help="follow every lead to its end (reply, steps 2-3, delivery)"
    )
    args = parser.parse_args()
    if any(a < 1 for a in args.accounts) or args.comments < max(args.accounts):
        parser.error("need at least one account and at least one comment per account")
    logging.basicConfig(level=logging.WARNING)
    with embedded_server() as (root_url, root):
        asyncio.run(main(args, root_url, root))


if __name__ == "__main__":
    cli()
