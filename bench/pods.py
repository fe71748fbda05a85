"""Engagement pods at scale: pod likes and comments performed per second through the action ledger against
the simulator, next to the simulator's raw reaction rate in the same run, and what that means for the
spec's 1M pod activities a day (11.6 a second on average).

    .venv/bin/python bench/pods.py [--members 12] [--posts-per-member 200] [--activities 1000]
        [--comment-share 0.35] [--lanes 1 4 12] [--raw 2000] [--pod-posts 300] [--executor-lanes 4]
        [--batch 25] [--repost-share 0.1]

On a fresh database of the embedded PostgreSQL (every migration applied): one client, `--members` connected
LinkedIn accounts (safety out of the way: gap 0, caps 100,000 a day, working hours off, no warm-up) and, at
the simulator (in its own process, loopback HTTP, no injected latency, no budgets), `--posts-per-member`
posts by each. The activities are member × someone else's post, each a like or (with `--comment-share`) a
comment, every one on a target of its own.

1. **raw**: the revOS Unipile client's `react()` against the simulator, `--raw` calls spread over the
   accounts, 16 at a time: what the simulator takes, the ceiling for anything above it.
2. **ledger**: each activity as the pod executor performs it (`revos.pods.execution.perform`): the intent
   recorded under its own key (`ledger.begin`), then `ledger.perform` with the standard call and
   reconciler (`revos.actions.reconcile.CALLS`: a reaction is confirmed by Unipile's `ReactionAdded`, a
   comment returns its id), the account's safety budget reserved and the outcome committed. One lane per account
   performs its activities one after another (an account never acts twice at once); `--lanes` runs are
   made with that many accounts acting at the same time.

3. **scheduling**: a pod of every account (engage share 0.6, comment share 0.35, reposts with
   `--repost-share`, author caps out of the way), and `--pod-posts` posts scheduled one after another as `PostPublished` or a submitted URL
   schedules them (`revos.pods.scheduling.schedule_post`, one transaction per post): activities planned
   per second.
4. **executor**: those activities all made due at once (a backlog), then `--executor-lanes` executor ticks
   at a time (`revos.pods.execution.run_due`, `--batch` claimed per tick: comments drafted by the voice
   skill with the offline provider, each account's activities performed in a lane through the ledger
   (`revos.actions.lanes`: the claim, every account's reservation and the actions recorded already
   started in one transaction, the calls, one record for the round) — a repost is
   first looked for in the member's own posts, then sent with `POST /posts` and `repost` — the outcome and
   the member's counters written) until none is pending: activities completed per second.

Afterwards the simulator's own record (`sim.engagements()`) is checked: every activity exactly once, no
duplicates. A figure, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the database and CPU helpers of the pipeline bench

import pipeline_throughput as pipeline  # noqa: E402

SIM_KEY = "bench-pods-sim-key"
NO_LIMIT = 10**9
PER_DAY = 1_000_000
# The account safety document's largest caps (a larger value makes the whole document invalid, and the
# account falls back to the deployment's defaults, working hours included).
MAX_CAP = 100_000
ACCOUNT_SAFETY = {
    "gap_min_seconds": 0,
    "gap_max_seconds": 0,
    "cap_reaction": MAX_CAP,
    "cap_comment": MAX_CAP,
    "cap_repost": MAX_CAP,
    "working_hours_enabled": False,
    "warmup_days": 0,
}
TOPICS = (
    "We stopped sending proposals on Fridays: replies went up because we had to call first",
    "Three things our onboarding call now skips: the logo tour, the roadmap and the pricing recap",
    "Our best post this quarter was a list of mistakes, with the numbers attached",
    "Sales reads every lost-deal note on Monday before looking at the open pipeline",
)
COMMENTS = (
    "The part about timing matches what we saw last quarter.",
    "Saving this for our Monday planning.",
    "Useful framing, especially the second point.",
    "We tried the opposite and regretted it. Good call.",
)


# --- the simulated LinkedIn, in its own process -----------------------------------------------------------


@dataclass(frozen=True)
class World:
    accounts: list[tuple[str, str]]  # (unipile account id, owner provider id)
    posts: list[tuple[int, str]]  # (index of the author's account, social id): the raw and ledger stages'
    pod_posts: list[tuple[int, str, str]]  # (author, social id, text): posts only the pod engages with


def _sim_process(pipe: Connection, members: int, posts_per_member: int, pod_posts: int) -> None:
    from revos.sim import Simulator, serve

    budgets = dict.fromkeys(("comments", "reactions", "posts", "reposts", "messages"), NO_LIMIT)
    sim = Simulator(api_key=SIM_KEY, seed=3, budgets=budgets)
    logins = [sim.add_account(name=f"Pod Member{n}") for n in range(members)]
    accounts = [sim.connect_account(login) for login in logins]
    posts = [
        (i, sim.add_post(login, f"Post {k} of member {i}: what we learned this week").social_id)
        for k in range(posts_per_member)
        for i, login in enumerate(logins)
    ]
    for_pod = []
    for k in range(pod_posts):
        text = f"{TOPICS[k % len(TOPICS)]} (post {k})"
        for_pod.append((k % members, sim.add_post(logins[k % members], text).social_id, text))
    world = World([(a.id, a.owner.provider_id) for a in accounts], posts, for_pod)

    async def main() -> None:
        async with serve(sim, host="127.0.0.1", port=0) as url:
            pipe.send((url, world))
            while (await asyncio.get_running_loop().run_in_executor(None, pipe.recv)) == "stats":
                engaged = sim.engagements(through_api=True)
                pod_ids = {sid.rsplit(":", 1)[-1] for _, sid, _ in world.pod_posts}
                pipe.send(
                    {
                        "on_pod_posts": sum(1 for e in engaged if e.post_id in pod_ids),
                        "reactions": sum(1 for e in engaged if e.kind == "reaction"),
                        "comments": sum(1 for e in engaged if e.kind == "comment"),
                        "reposts": sum(1 for e in engaged if e.kind == "repost"),
                        "targets": len({e.target for e in engaged}),
                        "duplicates": sum(n - 1 for n in sim.engagement_duplicates().values()),
                        "requests": len(sim.requests),
                    }
                )
            pipe.send(None)

    asyncio.run(main())


class SimProcess:
    def __init__(self, members: int, posts_per_member: int, pod_posts: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, theirs = ctx.Pipe()
        args = (theirs, members, posts_per_member, pod_posts)
        self._proc = ctx.Process(target=_sim_process, args=args, daemon=True)
        self._proc.start()
        self.url, self.world = self._pipe.recv()
        self.pid = self._proc.pid

    async def stats(self) -> dict[str, int]:
        self._pipe.send("stats")
        stats: dict[str, int] = await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        return stats

    def stop(self) -> None:
        self._pipe.send("stop")
        self._pipe.recv()
        self._proc.join(15)


# --- revOS set-up -----------------------------------------------------------------------------------------


async def set_up(url: str, world: World) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """A client, a user per member and the members' accounts, written as the owner."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:

        async def one(query: str, *params: Any) -> Any:
            row = await (await conn.execute(query, params)).fetchone()
            assert row is not None
            return row["id"]

        agency = await one("insert into agencies (name, slug) values ('Bench', 'bench-pods') returning id")
        client = await one("insert into clients (agency_id, name) values (%s, 'Pods') returning id", agency)
        ids, users = [], []
        for n, (unipile_id, provider_id) in enumerate(world.accounts):
            users.append(
                await one(
                    "insert into users (client_id, email, first_name, last_name) values (%s, %s, %s, 'Bench')"
                    " returning id",
                    client,
                    f"member{n}@bench.revos.dev",
                    f"Member{n}",
                )
            )
            ids.append(
                await one(
                    "insert into linkedin_accounts (client_id, user_id, account_name, linkedin_email,"
                    " linkedin_password, unipile_account_id, status, provider_status, profile_data, safety,"
                    " timezone) values (%s, %s, %s, %s, %s, %s, 'active', 'OK', %s, %s, 'UTC') returning id",
                    client,
                    users[-1],
                    f"Pod member {n}",
                    b"\x00",
                    b"\x00",
                    unipile_id,
                    Jsonb({"provider_id": provider_id}),
                    Jsonb(ACCOUNT_SAFETY),
                )
            )
    return client, ids, users


@dataclass(frozen=True)
class Activity:
    lane: int  # the acting account's index
    kind: str  # reaction | comment
    social_id: str


def targets(world: World) -> list[tuple[int, str]]:
    """Every (account, post) pair where the post is someone else's, shuffled: each is engaged with once."""
    pairs = [
        (lane, sid) for lane in range(len(world.accounts)) for author, sid in world.posts if author != lane
    ]
    random.Random(5).shuffle(pairs)
    return pairs


def take(pool: list[tuple[int, str]], count: int, lanes: int, comment_share: float) -> list[Activity]:
    """`count` activities for the first `lanes` accounts, spread evenly, removed from `pool` (no target
    is ever engaged with twice across runs)."""
    rng = random.Random(count * 31 + lanes)
    per_lane = {lane: -(-count // lanes) for lane in range(lanes)}
    picked: list[Activity] = []
    rest: list[tuple[int, str]] = []
    for lane, sid in pool:
        if len(picked) < count and per_lane.get(lane, 0) > 0:
            per_lane[lane] -= 1
            picked.append(Activity(lane, "comment" if rng.random() < comment_share else "reaction", sid))
        else:
            rest.append((lane, sid))
    if len(picked) < count:
        raise SystemExit("not enough distinct targets left: raise --posts-per-member")
    pool[:] = rest
    return picked


# --- the measured stages ----------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    count: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("nan")


async def raw_reactions(
    sim: SimProcess, pool: list[tuple[int, str]], calls: int, concurrency: int = 16
) -> Stage:
    """The revOS client's react() straight at the simulator: no database, no ledger. Its targets are taken
    from `pool`, so the ledger runs never react where a raw call already did."""
    from revos.linkedin import UnipileClient

    stage = Stage(f"raw react() x{calls}, {concurrency} at a time")
    accounts = sim.world.accounts
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for target in pool[:calls]:
        queue.put_nowait(target)
    del pool[:calls]
    async with UnipileClient(sim.url, SIM_KEY) as client:

        async def lane() -> None:
            while not queue.empty():
                account, sid = queue.get_nowait()
                t = time.perf_counter()
                await client.react(sid, accounts[account][0])
                stage.latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        stage.seconds = time.perf_counter() - started
    stage.count = len(stage.latencies)
    return stage


async def through_ledger(
    runtime: Any,
    client_id: uuid.UUID,
    account_ids: list[uuid.UUID],
    work: list[Activity],
    lanes: int,
    run: str,
) -> Stage:
    """Each activity as the pod executor performs it: ledger.begin, then ledger.perform (see module doc)."""
    from revos.actions import ledger
    from revos.actions.reconcile import CALLS

    stage = Stage(f"through the ledger, {lanes} account(s) at once")
    by_lane: dict[int, list[Activity]] = {}
    for a in work:
        by_lane.setdefault(a.lane, []).append(a)

    async def lane(items: list[Activity]) -> None:
        for n, a in enumerate(items):
            t = time.perf_counter()
            payload = (
                {"text": COMMENTS[n % len(COMMENTS)]} if a.kind == "comment" else {"reaction_type": "like"}
            )
            async with runtime.db.service(actor="bench") as conn:
                action = await ledger.begin(
                    conn,
                    client_id=client_id,
                    account_id=account_ids[a.lane],
                    kind=a.kind,
                    key=f"bench:{run}:{a.lane}:{a.social_id}",
                    target=a.social_id,
                    payload=payload,
                )
            call, reconcile = CALLS[a.kind]
            outcome = await ledger.perform(runtime, action.id, call, reconcile)
            label = outcome.status if outcome.status == "done" else f"{outcome.status}: {outcome.reason}"
            stage.outcomes[label] = stage.outcomes.get(label, 0) + 1
            stage.latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(lane(items) for items in by_lane.values()))
    stage.seconds = time.perf_counter() - started
    stage.count = sum(len(items) for items in by_lane.values())
    return stage


# --- the pods engine: scheduling and the executor -----------------------------------------------------------

POD_SETTINGS: dict[str, Any] = {
    "engage_share": 0.6,
    "comment_share": 0.35,
    "min_delay_seconds": 0,
    "daily_engagements_per_member": 500,
    "author_recent_posts": 100,
    "author_max_engagements": 100,
}


async def make_pod(
    runtime: Any, client_id: uuid.UUID, account_ids: list[uuid.UUID], users: list[uuid.UUID]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A pod of every member account, active, through the pods service (what /v1/pods runs)."""
    from revos.pods import schemas, service

    async with runtime.db.service(actor="bench") as conn:
        body = schemas.PodCreate(name="Bench pod", min_members=2, settings=POD_SETTINGS)
        pod = await service.create_pod(conn, client_id=client_id, body=body)
        members = [
            await service.add_member(conn, pod["id"], schemas.MemberCreate(user_id=u, linkedin_account_id=a))
            for u, a in zip(users, account_ids, strict=True)
        ]
        await service.update_pod(conn, pod["id"], schemas.PodUpdate(status="active"))
        pod = await service.get_pod(conn, pod["id"])
    return pod, members


async def schedule(
    runtime: Any, pod: dict[str, Any], members: list[dict[str, Any]], posts: list[tuple[int, str, str]]
) -> Stage:
    """Each post scheduled as `PostPublished` or a submitted URL schedules it: one transaction per post."""
    from revos.clock import utcnow
    from revos.pods import scheduling

    stage = Stage(f"scheduling ({len(posts)} posts, one at a time)")
    skipped = 0
    started = time.perf_counter()
    for author, social_id, text in posts:
        t = time.perf_counter()
        url = f"https://www.linkedin.com/posts/bench_activity-{social_id.rsplit(':', 1)[-1]}"
        ref = scheduling.PostRef(url, social_id, text, utcnow())
        async with runtime.db.service(actor="bench") as conn:
            done = await scheduling.schedule_post(runtime, conn, pod=pod, author=members[author], ref=ref)
        stage.count += sum(1 for planned in done.planned if planned.scheduled_for is not None)
        skipped += sum(1 for planned in done.planned if planned.scheduled_for is None)
        stage.latencies.append(time.perf_counter() - t)
    stage.seconds = time.perf_counter() - started
    stage.outcomes = {"activities planned": stage.count, "skipped when planned": skipped}
    return stage


PENDING_SQL = "select count(*) as n from pod_activities where status = 'pending'"


async def execute(runtime: Any, url: str, lanes: int, batch: int) -> Stage:
    """Every planned activity made due now (a backlog), then `lanes` executor ticks at once
    (`revos.pods.execution.run_due`, `batch` activities claimed per tick) until none is pending."""
    from revos.pods import execution

    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        await conn.execute("update pod_activities set scheduled_for = now() where status = 'pending'")
        stage = Stage(f"pod executor, {lanes} tick(s) at once")
        outcomes: Counter[str] = Counter()

        async def lane() -> None:
            while True:
                t = time.perf_counter()
                tick = await execution.run_due(runtime, limit=batch)
                outcomes.update(tick.outcomes or {})
                if tick.claimed:
                    stage.latencies.append((time.perf_counter() - t) / tick.claimed)
                elif not tick.drafted:
                    row = await (await conn.execute(PENDING_SQL)).fetchone()
                    if row is None or row["n"] == 0:
                        return
                    await asyncio.sleep(0.05)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(lanes)))
        stage.seconds = time.perf_counter() - started
        done = await (
            await conn.execute("select count(*) as n from pod_activities where status = 'completed'")
        ).fetchone()
    stage.count = done["n"] if done else 0
    stage.outcomes = dict(outcomes)
    return stage


def pct(values: list[float], q: float) -> float:
    return pipeline.pct(values, q) * 1000


def show(stage: Stage) -> None:
    lat = stage.latencies
    cpu = ", ".join(f"{k} {v:.1f} s" for k, v in stage.cpu.items() if v) or "n/a"
    print(
        f"   {stage.name:<40}: {stage.count:6d} in {stage.seconds:6.2f} s = {stage.rate:7.1f}/s"
        f"  (p50 {pct(lat, 0.5):5.1f} ms, p99 {pct(lat, 0.99):6.1f} ms; CPU {cpu})"
    )
    if stage.outcomes:
        print(f"   {'':<40}  outcomes {stage.outcomes}")


async def main(args: argparse.Namespace, root_url: str, root: Path) -> None:
    from revos.accounts.provider import close_linkedin_client, configure_linkedin_client
    from revos.runtime import Runtime

    sim = SimProcess(args.members, args.posts_per_member, args.pod_posts)
    url = pipeline.fresh_database(root_url, "pods")
    client_id, account_ids, users = await set_up(url, sim.world)
    settings = pipeline.configure(url, sim.url, max(args.lanes) + 4)
    runtime = Runtime.build(settings)
    await runtime.open()
    configure_linkedin_client(runtime, sim.url, SIM_KEY)
    cpu = pipeline.CpuMeter(pipeline.postmaster_pid(root), sim.pid)
    print(
        f"\n== pods: {args.members} member accounts, {len(sim.world.posts)} posts; simulator in its own"
        " process, loopback HTTP, no injected latency; safety policy out of the way"
    )
    stages = []
    pool = targets(sim.world)
    try:
        if args.raw:
            cpu.begin()
            raw = await raw_reactions(sim, pool, args.raw)
            raw.cpu = cpu.end()
            show(raw)
            stages.append(raw)
        before = await sim.stats()
        for lanes in args.lanes:
            work = take(pool, args.activities, lanes, args.comment_share)
            cpu.begin()
            stage = await through_ledger(runtime, client_id, account_ids, work, lanes, f"l{lanes}")
            stage.cpu = cpu.end()
            show(stage)
            stages.append(stage)
        after = await sim.stats()
        if args.pod_posts:
            POD_SETTINGS.update(reposts=args.repost_share > 0, repost_share=args.repost_share)
            pod, members = await make_pod(runtime, client_id, account_ids, users)
            cpu.begin()
            planned = await schedule(runtime, pod, members, sim.world.pod_posts)
            planned.cpu = cpu.end()
            show(planned)
            cpu.begin()
            executed = await execute(runtime, url, args.executor_lanes, args.batch)
            executed.cpu = cpu.end()
            show(executed)
            stages += [planned, executed]
            final = await sim.stats()
            print(
                f"   simulator's record: {final['on_pod_posts']} engagements on the pod's posts"
                f" ({final['reposts']} reposts) for {executed.count} completed"
            )
    finally:
        await close_linkedin_client(runtime)
        await runtime.close()
        sim.stop()
    performed = sum(s.count for s in stages if s.name.startswith("through"))  # the ledger stages
    seen = (after["reactions"] - before["reactions"]) + (after["comments"] - before["comments"])
    new_duplicates = after["duplicates"] - before["duplicates"]
    print(
        f"   ledger stages, simulator's record: {seen} engagements for {performed} activities performed,"
        f" {new_duplicates} engaged with twice"
    )
    need = PER_DAY / 86400
    print(f"\n   1M pod activities a day = {need:.1f}/s on average (a peak hour at 3x: {3 * need:.0f}/s)")
    for stage in stages:
        if stage.rate == stage.rate:  # not NaN
            print(
                f"   {stage.name:<40}: {stage.rate * 86400 / 1e6:6.1f} M a day at this rate,"
                f" {stage.rate / need:5.1f}x the average, {stage.rate / (3 * need):5.1f}x a 3x peak"
            )


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=12)
    parser.add_argument("--posts-per-member", type=int, default=200)
    parser.add_argument("--activities", type=int, default=1000, help="per --lanes run")
    parser.add_argument("--comment-share", type=float, default=0.35)
    parser.add_argument("--lanes", type=int, nargs="+", default=[1, 4, 12], help="accounts acting at once")
    parser.add_argument("--raw", type=int, default=2000, help="raw react() calls (0: skip)")
    parser.add_argument("--pod-posts", type=int, default=300, help="posts the pod engine schedules (0: skip)")
    parser.add_argument("--executor-lanes", type=int, default=4, help="executor ticks running at once")
    parser.add_argument("--batch", type=int, default=25, help="activities an executor tick claims")
    parser.add_argument(
        "--repost-share", type=float, default=0.1, help="the pod's repost_share (0: no reposts)"
    )
    args = parser.parse_args()
    if max(args.lanes) > args.members or min(args.lanes) < 1:
        parser.error("--lanes must be between 1 and --members")
    logging.basicConfig(level=logging.WARNING)
    with pipeline.embedded_server() as (root_url, root):
        asyncio.run(main(args, root_url, root))


if __name__ == "__main__":
    cli()
