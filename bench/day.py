"""A replayed day: the spec's daily volume, scaled by `--fraction`, through the real pipeline.

    .venv/bin/python bench/day.py [--fraction 0.1] [--workers 1] [--concurrency 32] [--raw 300]
        [--timeout 3600] [--profile worker.txt] [--statements 30]

The spec's day (data-model.md, "Expected Scale"): 1,000 active campaigns, 10,000+ leads, 100,000+ DMs and
1,000,000 pod activities. A revOS sequence is three DMs per lead (step 1, step 2 after the emailed reply,
step 3 the backup link), so 100,000 DMs are the sequences of about 33,300 leads: the day has that many
trigger comments (above the spec's 10,000 leads; `--leads-per-day` changes it, and `--pod-activities-per-day`
the pods' volume: 0 leaves only the activities of the campaigns' own posts). At fraction F:

- F x 1,000 campaigns, ten per client (F x 100 clients), each on a LinkedIn account of its own; a client has
  25 accounts, and all 25 form the client's engagement pod (engage share 1.0, comment share 0.35);
- F x 33,334 members comment the trigger word under the campaigns' posts the moment they are published;
  one in ten is not yet connected to the author (an invitation first, accepted at once); every member
  answers the first DM with an email at once;
- F x 1,000,000 pod activities: each campaign post schedules the pod's 24 other members, and members'
  other posts (F x ~29,900, submitted to the pod) schedule the rest (24 likes and ~8 comments a post).

What goes through which path:
- bulk SQL (set-up, as the other benches): the agency, clients, their admin users and API keys, the users
  and connected LinkedIn accounts (the hosted/credential login flow is not the day's work; the accounts
  carry per-account safety overrides: gaps 0, caps at their maximum of 100,000, no working hours, no
  warm-up, so revOS itself is measured), and the members' other posts submitted to the pods
  (`revos.pods.scheduling.schedule_post`, what `POST /v1/pods/{id}/posts` runs, without the HTTP);
- the HTTP API (served by this process, as a user acts): lead magnets, webhook configs (one local ESP
  receiver per client, checking the Standard Webhooks signature), campaigns created and activated, pods
  created with their members and activated, the campaign posts created and published (`publish-now`);
- a real `revos` worker in its own process (`QueueWorker`, its periodic pollers and dispatchers every
  second instead of every 5-20 s; a fresh post polled every 120 x F s, at least 10 s: the full day's polls
  a second at every F, see `fresh_poll_seconds`; with `--workers 2`, two processes
  whose CPU is summed as the worker's, the profile being the first one's) does everything else: publishing,
  comment polling, leads, invitations, DMs, replies (Unipile's webhooks arrive at this process's API),
  captured emails delivered by signed webhook, answers to the trigger comments, the pod executor;
- the simulator (`revos.sim`) in its own process, loopback HTTP, no injected latency, no budgets;
- embedded PostgreSQL on a fresh database (every migration applied).

The replay compresses the day's clock in one place: pod activities are planned inside their windows
(hours), and a pending activity's `scheduled_for` is pulled to now: before the window for the members'
posts, once a second during it for the campaign posts' activities. DM delays are 0.

Before the window, the set-up's audit entries are sealed and the database vacuumed and analysed
(`night_before`: a day starts from the state the night before left). The measured window starts when the
campaign posts are published and ends when every post is published,
every lead has had its three DMs, every captured email was delivered, no pod activity is pending and no
ledger action is unsettled. Printed: wall time; per kind of LinkedIn action the actions confirmed in the
ledger and actions/s; CPU seconds per action of the worker process, PostgreSQL (its processes' counters
in /proc), the simulator and this process (API + the bench's monitor); the simulator's raw rate for the
same calls in the same run (`--raw` calls of each kind, 16 at a time, after the window); the rows and
bytes each table grew by; and exactly-once checks against the simulator's records. A figure, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# isort: off
import _venv  # noqa: F401 - first: `python bench/day.py` sets up and runs in the project's environment

# isort: on
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the database and CPU helpers of the pipeline bench

import pg_statements  # noqa: E402
import pipeline_throughput as pipeline  # noqa: E402

SIM_KEY = "bench-day-sim-key"
TRIGGER = "GUIDE"
POST_MARK = "Comment GUIDE below"
NO_BUDGET = 10**9
MAX_CAP = 100_000  # the largest cap an account override may take (accounts.safety)
EVERY_SECOND = "* * * * * *"
ACCOUNT_SAFETY = {
    "gap_min_seconds": 0,
    "gap_max_seconds": 0,
    **{
        f"cap_{k}": MAX_CAP
        for k in ("dm", "invitation", "post", "comment", "reaction", "profile_view", "invitation_weekly")
    },
    "working_hours_enabled": False,
    "warmup_days": 0,
}
CAMPAIGN_SETTINGS = {
    "step1_delay_min_seconds": 0,
    "step1_delay_max_seconds": 0,
    "step2_delay_seconds": 0,
    "step3_delay_seconds": 0,
    "abandon_after_days": 2,
}
POD_SETTINGS = {
    "engage_share": 1.0,
    "comment_share": 0.35,
    "repost_share": 0.0,
    "min_delay_seconds": 0,
    "daily_engagements_per_member": 500,
    "author_recent_posts": 100,
    "author_max_engagements": 100,
    "participation_pause_below": 0.0,
}
CAMPAIGNS_PER_CLIENT = 10
ACCOUNTS_PER_CLIENT = 25  # also the pod's size
INVITE_EVERY = 10  # one commenter in ten is not connected yet
SPEC = {"campaigns": 1_000, "leads": 10_000, "dms": 100_000, "pod activities": 1_000_000}
TOPICS = (
    "We stopped sending proposals on Fridays: replies went up because we had to call first",
    "Three things our onboarding call now skips: the logo tour, the roadmap and the pricing recap",
    "Our best post this quarter was a list of mistakes, with the numbers attached",
    "Sales reads every lost-deal note on Monday before looking at the open pipeline",
)


@dataclass(frozen=True)
class Plan:
    fraction: float
    clients: int
    campaigns: int
    leads: int
    pod_posts: int  # members' other posts submitted to the pods
    raw: int

    @classmethod
    def of(
        cls, fraction: float, leads_per_day: int, raw: int, pod_activities: int = SPEC["pod activities"]
    ) -> Plan:
        campaigns = max(1, round(SPEC["campaigns"] * fraction))
        clients = max(1, -(-campaigns // CAMPAIGNS_PER_CLIENT))
        leads = max(campaigns, round(leads_per_day * fraction))
        # Every other member likes a post, and a share of them comment too.
        per_post = (ACCOUNTS_PER_CLIENT - 1) * (1 + POD_SETTINGS["comment_share"])
        pod_posts = max(0, round((pod_activities * fraction - per_post * campaigns) / per_post))
        return cls(fraction, clients, campaigns, leads, pod_posts, raw)

    def campaigns_of(self, client: int) -> int:
        return len(range(client, self.campaigns, self.clients))

    def leads_of(self, campaign: int) -> int:
        return self.leads // self.campaigns + (1 if campaign < self.leads % self.campaigns else 0)


# --- the simulated LinkedIn, in its own process ------------------------------------------------------------


@dataclass(frozen=True)
class SimClient:
    accounts: list[tuple[str, str]]  # (unipile account id, owner provider id); the first ones run campaigns
    pod_posts: list[tuple[int, str, str]]  # (author's index, social id, text)


@dataclass(frozen=True)
class SimWorld:
    clients: list[SimClient]
    raw_account: str
    raw_posts: list[str]  # social ids
    raw_members: list[str]  # provider ids, connected to the raw account
    raw_strangers: list[str]  # provider ids, not connected


def _build(plan: Plan) -> tuple[Any, SimWorld, set[str]]:
    from revos.sim import Persona, Simulator

    budgets = dict.fromkeys(
        ("invitations", "profile_views", "messages", "comments", "reactions", "posts", "reposts"), NO_BUDGET
    )
    sim = Simulator(api_key=SIM_KEY, seed=11, budgets=budgets)
    clients: list[SimClient] = []
    commenters: dict[str, list[Any]] = {}  # campaign author's provider id -> members who comment
    campaign = 0
    for c in range(plan.clients):
        logins = [sim.add_account(name=f"Client{c} Owner{n}") for n in range(ACCOUNTS_PER_CLIENT)]
        accounts = [sim.connect_account(login) for login in logins]
        for i in range(plan.campaigns_of(c)):
            members = []
            for n in range(plan.leads_of(campaign)):
                persona = Persona(reply="email", reply_delay=0.0, on_invite="accept", invite_delay=0.0)
                connected = [logins[i]] if n % INVITE_EVERY else []
                members.append(
                    sim.add_member(f"Lead{campaign}x{n}", "Bench", persona=persona, connected_to=connected)
                )
            commenters[logins[i].provider_id] = members
            campaign += 1
        clients.append(
            SimClient([(a.id, login.provider_id) for a, login in zip(accounts, logins, strict=True)], [])
        )
    # The members' other posts, spread over the clients and their members.
    for k in range(plan.pod_posts):
        c, rest = k % plan.clients, k // plan.clients
        author = rest % ACCOUNTS_PER_CLIENT
        text = f"{TOPICS[k % len(TOPICS)]} (post {k})"
        post = sim.add_post(clients[c].accounts[author][0], text)
        clients[c].pod_posts.append((author, post.social_id, text))
    raw_login = sim.add_account(name="Raw Owner")
    raw_account = sim.connect_account(raw_login)
    raw_posts = [sim.add_post(raw_login, f"Raw post {n}").social_id for n in range(plan.raw)]
    raw_members = [
        sim.add_member(f"Raw{n}", "Member", connected_to=[raw_login]).provider_id for n in range(plan.raw)
    ]
    raw_strangers = [sim.add_member(f"Raw{n}", "Stranger").provider_id for n in range(plan.raw)]

    # Members comment the trigger word the moment a campaign post appears (a campaign account publishes
    # exactly one post through the API; its other posts were made above, before this listener).
    def on_event(event: Any) -> None:
        if event.kind != "post":
            return
        post = event.data["post"]
        members = commenters.pop(post.author.provider_id, None)
        if members and POST_MARK in (post.text or ""):
            for n, member in enumerate(members):
                sim.add_comment(post, member, f"{TRIGGER} please" if n % 2 else f"Yes {TRIGGER}!")

    sim.world.listeners.append(on_event)
    raw_ids = set(raw_posts) | {p.rsplit(":", 1)[-1] for p in raw_posts}
    world = SimWorld(clients, raw_account.id, raw_posts, raw_members, raw_strangers)
    return sim, world, raw_ids


INVITATIONS_SQL = (
    "select la.unipile_account_id as account, a.target, a.status, a.action_key, a.last_error"
    " from linkedin_actions a join linkedin_accounts la on la.id = a.linkedin_account_id"
    " where a.kind = 'invitation'"
)


async def unledgered_invitations(url: str, invited: list[tuple[str, str]]) -> None:
    """Invitations LinkedIn holds that no confirmed ledger action accounts for (an exactly-once check):
    printed with the ledger's rows for the same invitee, if any."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        rows = await (await conn.execute(INVITATIONS_SQL)).fetchall()
    done = {(r["account"], r["target"]) for r in rows if r["status"] == "done"}
    extra = [pair for pair in invited if tuple(pair) not in done]
    if not extra:
        return
    print(f"   invitations at LinkedIn without a confirmed ledger action: {len(extra)}")
    for account, target in extra[:5]:
        mine = [r for r in rows if r["target"] == target]
        print(f"     {account} -> {target}: ledger {mine or 'none'}")


def sim_record(sim: Any) -> dict[str, Any]:
    """What the simulated LinkedIn saw (API calls of connected accounts), and what it saw twice."""
    notes = {(inv.member.provider_id, inv.message) for inv in sim.invitations() if inv.message}
    dms = [
        (member.provider_id, msg.text)
        for msg in sim.sent_messages()
        for member in msg.recipients
        if (member.provider_id, msg.text) not in notes
    ]
    # One account inviting one member twice is a duplicate; two accounts inviting the same member is not.
    invited = Counter((inv.account_id, inv.member.provider_id) for inv in sim.invitations())
    engaged = sim.engagements(through_api=True)
    campaign_posts = [p for p in sim.posts() if POST_MARK in (p.text or "")]
    replies = sim.ground_truth(kind="reply")
    return {
        "dm": len(dms),
        "invitation": sum(invited.values()),
        "reaction": sum(1 for e in engaged if e.kind == "reaction"),
        "comment": sum(1 for e in engaged if e.kind == "comment"),
        "post": len(campaign_posts),
        "dm twice": sum(1 for n in Counter(dms).values() if n > 1),
        "invitation twice": sum(1 for n in invited.values() if n > 1),
        "invited": sorted(invited),
        "engagement twice": sum(n - 1 for n in sim.engagement_duplicates().values()),
        "post twice": sum(1 for n in Counter(p.author.provider_id for p in campaign_posts).values() if n > 1),
        "replies with email": sum(1 for r in replies if r.email),
        "requests": len(sim.requests),
    }


def _sim_process(pipe: Connection, plan: Plan) -> None:
    from revos.sim import serve

    sim, world, _raw = _build(plan)

    async def main() -> None:
        async with serve(sim, host="127.0.0.1", port=0) as url:
            pipe.send((url, world))
            while (await asyncio.get_running_loop().run_in_executor(None, pipe.recv)) == "stats":
                pipe.send(sim_record(sim))
            pipe.send(None)

    asyncio.run(main())


class SimProcess:
    def __init__(self, plan: Plan) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_sim_process, args=(theirs, plan), daemon=True)
        self._proc.start()
        self.url: str
        self.world: SimWorld
        self.url, self.world = self._pipe.recv()
        self.pid = self._proc.pid

    async def record(self) -> dict[str, Any]:
        self._pipe.send("stats")
        stats: dict[str, Any] = await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        return stats

    def stop(self) -> None:
        self._pipe.send("stop")
        self._pipe.recv()
        self._proc.join(15)


# --- the worker, in its own process --------------------------------------------------------------------------


def fresh_poll_seconds(fraction: float) -> float:
    """How often the replay polls a fresh post: revOS's default (`REVOS_POLL_FRESH_SECONDS`, 120 s) at the
    full day, scaled down with the day (at least 10 s), so the replay polls as many posts a second at every
    fraction as a deployment does at the spec's day (1,000 fresh campaign posts every 120 s, 8.3 a second).
    A fixed 10 s made F=1 poll 100 posts a second, twelve times the day's load, and the polls took the
    worker from the actions."""
    from revos.config import Settings

    return max(10.0, Settings.model_fields["poll_fresh_seconds"].default * fraction)


def tune(settings: Any, public_url: str, fraction: float) -> Any:
    """The day's replay settings: dispatchers every second, a fresh post polled every
    `fresh_poll_seconds(fraction)`."""
    settings.public_base_url = public_url
    settings.webhook_allow_http_loopback = True  # the ESP receivers listen on 127.0.0.1
    settings.cron_dms_dispatch = EVERY_SECOND
    settings.cron_webhook_dispatch = EVERY_SECOND
    settings.cron_pods_execute = EVERY_SECOND
    settings.cron_posts_publish_due = EVERY_SECOND
    settings.poll_fresh_seconds = fresh_poll_seconds(fraction)
    return settings


def _worker_process(
    pipe: Connection, url: str, sim_url: str, public_url: str, concurrency: int, number: int, fraction: float
) -> None:
    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        from revos.accounts.provider import close_linkedin_client, configure_linkedin_client
        from revos.cli.common import tune_collector
        from revos.queue.worker import QueueWorker
        from revos.runtime import Runtime

        settings = tune(pipeline.configure(url, sim_url, concurrency), public_url, fraction)
        runtime = Runtime.build(settings, name="revos-worker")
        await runtime.open()
        configure_linkedin_client(runtime, sim_url, SIM_KEY)
        worker = QueueWorker(runtime, concurrency=concurrency, name=f"bench-day-{number}")
        tune_collector()  # as `revos worker`
        run = asyncio.ensure_future(worker.run())
        pipe.send("started")
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
        worker.stop()
        await run
        await close_linkedin_client(runtime)
        await runtime.close()
        pipe.send("stopped")

    from revos.cli.common import loop_factory

    with asyncio.Runner(loop_factory=loop_factory()) as runner:  # REVOS_EVENT_LOOP, as `revos worker`
        runner.run(main())


class WorkerProcess:
    def __init__(
        self, url: str, sim_url: str, public_url: str, concurrency: int, fraction: float, number: int = 0
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, theirs = ctx.Pipe()
        args = (theirs, url, sim_url, public_url, concurrency, number, fraction)
        self._proc = ctx.Process(target=_worker_process, args=args, daemon=True)
        self._proc.start()
        self.pid = self._proc.pid

    async def started(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)

    async def stop(self) -> None:
        self._pipe.send("stop")
        await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        await asyncio.get_running_loop().run_in_executor(None, self._proc.join, 30)


# --- where the CPU goes ----------------------------------------------------------------------------------------


Meter = pipeline.Meter  # CPU seconds of named processes and of PostgreSQL, from /proc


# --- revOS set-up -------------------------------------------------------------------------------------------


@dataclass
class ClientSetup:
    client_id: uuid.UUID
    api_key: str
    users: list[uuid.UUID]
    accounts: list[uuid.UUID]
    receiver: Any = None
    campaigns: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)  # revOS post ids, to publish
    pod_id: str | None = None


async def bulk_tenants(runtime: Any, url: str, world: SimWorld) -> list[ClientSetup]:
    """Agency, clients, admin users and API keys, users and connected accounts: bulk SQL (set-up)."""
    from revos.tenancy import service as tenancy

    out = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:

        async def one(query: str, *params: Any) -> Any:
            row = await (await conn.execute(query, params)).fetchone()
            assert row is not None
            return row["id"]

        agency = await one("insert into agencies (name, slug) values ('Day', 'bench-day') returning id")
        for c, sc in enumerate(world.clients):
            client = await one(
                "insert into clients (agency_id, name) values (%s, %s) returning id", agency, f"C{c}"
            )
            users, accounts = [], []
            for n, (unipile_id, provider_id) in enumerate(sc.accounts):
                users.append(
                    await one(
                        "insert into users (client_id, email, first_name, last_name, role)"
                        " values (%s, %s, %s, 'Bench', %s) returning id",
                        client,
                        f"u{n}@c{c}.bench.revos.dev",
                        f"Owner{n}",
                        "admin" if n == 0 else "member",
                    )
                )
                accounts.append(
                    await one(
                        "insert into linkedin_accounts (client_id, user_id, account_name, linkedin_email,"
                        " linkedin_password, unipile_account_id, status, provider_status, profile_data,"
                        " safety, timezone) values (%s, %s, %s, %s, %s, %s, 'active', 'OK', %s, %s, 'UTC')"
                        " returning id",
                        client,
                        users[-1],
                        f"Client {c} account {n}",
                        b"\x00",
                        b"\x00",
                        unipile_id,
                        Jsonb({"provider_id": provider_id}),
                        Jsonb(ACCOUNT_SAFETY),
                    )
                )
            out.append(ClientSetup(client, "", users, accounts))
    for setup in out:
        async with runtime.db.service(actor="bench") as conn:
            _, setup.api_key = await tenancy.create_api_key(
                conn, client_id=setup.client_id, name="bench", role="admin", created_by=setup.users[0]
            )
    return out


def check(response: Any, what: str) -> dict[str, Any]:
    if response.status_code not in (200, 201, 202):
        raise SystemExit(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


async def through_api(api_url: str, plan: Plan, c: int, setup: ClientSetup) -> None:
    """What a user does: lead magnet, webhook config, campaigns created and activated, the pod with its
    members activated, the campaign posts drafted (published later, when the day starts)."""
    import httpx

    from revos.demo.world import make_pdf
    from revos.webhooks.receiver import Receiver

    setup.receiver = await Receiver(record=False).start()
    headers = {"X-API-Key": setup.api_key}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=120.0, trust_env=False) as api:
        magnet = check(
            await api.post(
                "/v1/lead-magnets",
                data={"name": "The Growth Guide"},
                files={"file": ("growth-guide.pdf", make_pdf(), "application/pdf")},
            ),
            "upload the lead magnet",
        )
        hook = check(
            await api.post(
                "/v1/webhooks/configs", json={"name": "ESP", "esp_type": "custom", "url": setup.receiver.url}
            ),
            "create the webhook config",
        )
        setup.receiver.secret = hook["secret"]
        for i in range(plan.campaigns_of(c)):
            campaign = check(
                await api.post(
                    "/v1/campaigns",
                    json={
                        "name": f"Campaign {i}",
                        "trigger_words": [TRIGGER],
                        "lead_magnet_id": magnet["id"],
                        "webhook_config_id": hook["id"],
                        "post_template": f"I wrote {{{{lead_magnet_name}}}}. {POST_MARK} and I'll send it.",
                        "dm_template_step1": "Hi {{first_name}}, where should I send {{lead_magnet_name}}?"
                        " Reply with your email.",
                        "dm_template_step2": "Thanks {{first_name}}! It is on its way to {{email}}.",
                        "dm_template_step3": "Hi {{first_name}}, here it is directly: {{download_url}}",
                        "settings": CAMPAIGN_SETTINGS,
                    },
                ),
                "create a campaign",
            )
            check(await api.post(f"/v1/campaigns/{campaign['id']}/activate"), "activate a campaign")
            setup.campaigns.append(campaign["id"])
            post = check(
                await api.post(
                    "/v1/posts",
                    json={"campaign_id": campaign["id"], "linkedin_account_id": str(setup.accounts[i])},
                ),
                "draft the campaign's post",
            )
            setup.posts.append(post["id"])
        pod = check(
            await api.post(
                "/v1/pods",
                json={
                    "name": "Pod",
                    "min_members": 2,
                    "engagement_window_minutes": 1440,
                    "comment_window_minutes": 2880,
                    "settings": POD_SETTINGS,
                },
            ),
            "create the pod",
        )
        for user, account in zip(setup.users, setup.accounts, strict=True):
            check(
                await api.post(
                    f"/v1/pods/{pod['id']}/members",
                    json={"user_id": str(user), "linkedin_account_id": str(account)},
                ),
                "add a pod member",
            )
        check(await api.patch(f"/v1/pods/{pod['id']}", json={"status": "active"}), "activate the pod")
        setup.pod_id = pod["id"]


async def submit_pod_posts(runtime: Any, sc: SimClient, setup: ClientSetup) -> int:
    """The members' other posts submitted to the pod (bulk path: `scheduling.schedule_post`, one
    transaction per post, as `POST /v1/pods/{id}/posts` runs it). Returns the activities planned."""
    from revos.clock import utcnow
    from revos.pods import scheduling
    from revos.pods import service as pods

    planned = 0
    assert setup.pod_id is not None
    async with runtime.db.service(actor="bench") as conn:
        pod = await pods.get_pod(conn, uuid.UUID(setup.pod_id))
        members = [await pods.member_of_user(conn, pod["id"], user) for user in setup.users]
    for author, social_id, text in sc.pod_posts:
        url = f"https://www.linkedin.com/posts/bench_activity-{social_id.rsplit(':', 1)[-1]}"
        ref = scheduling.PostRef(url, social_id, text, utcnow())
        async with runtime.db.service(actor="bench") as conn:
            member = members[author]
            assert member is not None
            done = await scheduling.schedule_post(runtime, conn, pod=pod, author=member, ref=ref)
        planned += done.pending
    return planned


@contextlib.asynccontextmanager
async def serve_api(runtime: Any) -> AsyncIterator[str]:
    import uvicorn

    from revos.app import create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # Ctrl-C stops the bench, not only its API
            yield

    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=0, log_level="warning", access_log=False
    )
    server = Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise SystemExit("the API stopped before starting")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


# --- the day -----------------------------------------------------------------------------------------------------

PROGRESS_SQL = """
select (select count(*) from posts where status = 'published') as posts,
       (select count(*) from leads) as leads,
       (select count(*) from dm_sequences where stage = 'done') as sequences_done,
       (select count(*) from webhook_deliveries where status = 'success') as delivered,
       (select count(*) from pod_activities where status = 'pending') as pod_pending,
       (select count(*) from pod_activities where status = 'completed') as pod_completed,
       (select count(*) from pod_activities) as pod_planned,
       (select count(*) from linkedin_actions where status not in ('done', 'failed')) as unsettled,
       (select count(*) from linkedin_actions where kind = 'dm' and status = 'done') as dms
"""
KINDS_SQL = "select kind, status, count(*) as n from linkedin_actions group by 1, 2 order by 1, 2"
# The replay's clock: what the pod planned inside its windows (hours) is due now.
FAST_FORWARD_SQL = (
    "update pod_activities set scheduled_for = now() where status = 'pending' and scheduled_for > now()"
)
# Audit entries written since the window began: the worker's sealer chains them every few seconds; those it
# had not chained yet at the end are sealed here first (in the CTE), and counted either way (one snapshot).
AUDIT_SQL = """
with sealed as materialized (select public.revos_audit_seal() as n)
select a.table_name, a.operation, count(*) as n
from (select table_name, operation, occurred_at from audit_log
      union all select table_name, operation, occurred_at from audit_pending) a, sealed
where a.occurred_at >= %s
group by 1, 2 order by 3 desc
"""
TABLES_SQL = """
select schemaname || '.' || relname as name, n_tup_ins as rows, pg_total_relation_size(relid) as bytes,
       n_tup_upd as updates, n_tup_hot_upd as hot
from pg_stat_user_tables
"""


async def backend_names(conn: psycopg.AsyncConnection[Any]) -> dict[int, str]:
    """PostgreSQL's processes by what they are: a client's application_name (revos-worker, revos-queue,
    revos-api), else the kind of process (checkpointer, walwriter, autovacuum worker, …)."""
    rows = await (
        await conn.execute(
            "select pid, coalesce(nullif(application_name, ''), backend_type) as name from pg_stat_activity"
        )
    ).fetchall()
    return {int(r["pid"]): str(r["name"]) for r in rows}


async def xact_commits(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (
        await conn.execute("select xact_commit from pg_stat_database where datname = current_database()")
    ).fetchone()
    return int(row["xact_commit"]) if row else 0


POLLS_SQL = "select coalesce(sum(polls_count), 0) as n from posts"
JOBS_SQL = (
    "select task_name, count(*) as n from procrastinate.procrastinate_jobs where id > %s"
    " group by 1 order by 2 desc"
)
POD_OUTCOMES_SQL = (
    "select status || coalesce(' (' || left(error_message, 60) || ')', '') as status, count(*) as n"
    " from pod_activities group by 1 order by 2 desc"
)


async def last_job_id(conn: psycopg.AsyncConnection[Any]) -> int:
    """The queue's newest job id: the jobs the day defers come after it."""
    row = await (
        await conn.execute("select coalesce(max(id), 0) as id from procrastinate.procrastinate_jobs")
    ).fetchone()
    return int(row["id"]) if row else 0


async def audit_trigger_ms(url: str) -> float:
    """Milliseconds spent in the audit triggers so far (pg_stat_user_functions, track_functions = pl): each
    table's statement trigger appending to audit_pending, `revos_audit__<table>` (the sealer,
    revos_audit_seal, is not on the write path)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "select coalesce(sum(total_time), 0) from pg_stat_user_functions"
                " where funcname like 'revos\\_audit\\_\\_%' or funcname = 'revos_audit_row_pending'"
            )
        ).fetchone()
    return float(row[0]) if row else 0.0


async def tables(url: str) -> dict[str, tuple[int, int, int, int]]:
    """Per table: rows inserted, bytes, rows updated, of which HOT (no index entry written)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        rows = await (await conn.execute(TABLES_SQL)).fetchall()
    return {r["name"]: (r["rows"], r["bytes"], r["updates"], r["hot"]) for r in rows}


def done_when(plan: Plan, row: dict[str, Any]) -> bool:
    return (
        row["posts"] >= plan.campaigns
        and row["leads"] >= plan.leads
        and row["dms"] >= 3 * plan.leads
        and row["delivered"] >= plan.leads
        and row["pod_pending"] == 0
        and row["unsettled"] == 0
    )


async def raw_burst(sim: SimProcess, calls: int, concurrency: int = 16) -> dict[str, tuple[int, float]]:
    """The revOS Unipile client straight at the simulator, for each kind of call: (calls, seconds)."""
    from revos.linkedin import UnipileClient

    w = sim.world
    acc = w.raw_account
    kinds: dict[str, Callable[[Any, int], Awaitable[Any]]] = {
        "post": lambda c, n: c.create_post(acc, f"Raw burst post {n}"),
        "dm": lambda c, n: c.start_chat(acc, w.raw_members[n], f"Raw DM {n}"),
        "invitation": lambda c, n: c.send_invitation(w.raw_strangers[n], acc),
        "reaction": lambda c, n: c.react(w.raw_posts[n], acc),
        "comment": lambda c, n: c.comment(w.raw_posts[n], acc, f"Raw comment {n}"),
    }
    out = {}
    async with UnipileClient(sim.url, SIM_KEY) as client:
        for kind, call in kinds.items():
            todo = iter(range(calls))

            async def lane(
                call: Callable[[Any, int], Awaitable[Any]] = call, todo: Iterator[int] = todo
            ) -> None:
                for n in todo:
                    await call(client, n)

            started = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(concurrency)))
            out[kind] = (calls, time.perf_counter() - started)
    return out


@contextlib.contextmanager
def py_spy(pid: int | None, path: str | None) -> Iterator[None]:
    """`py-spy record` of the worker for the window (collapsed stacks in `path`), if asked for."""
    if not path or pid is None:
        yield
        return
    exe = Path(sys.executable).with_name("py-spy")
    proc = subprocess.Popen(
        [
            str(exe),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "50",
            "--output",
            path,
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)


async def day(args: argparse.Namespace, root_url: str, root: Path) -> None:
    from revos.accounts.provider import close_linkedin_client, configure_linkedin_client, ensure_webhooks
    from revos.runtime import Runtime

    plan = Plan.of(args.fraction, args.leads_per_day, args.raw, args.pod_activities_per_day)
    print(
        f"== a replayed day at fraction {plan.fraction}: {plan.campaigns} campaigns, {plan.clients} clients,"
        f" {plan.clients * ACCOUNTS_PER_CLIENT} LinkedIn accounts, {plan.leads} trigger comments"
        f" ({3 * plan.leads} DMs), pods of {ACCOUNTS_PER_CLIENT} with {plan.pod_posts} members' posts"
        f" (~{(plan.pod_posts + plan.campaigns) * (ACCOUNTS_PER_CLIENT - 1) * (1 + POD_SETTINGS['comment_share']):.0f}"
        " activities)",
        flush=True,
    )
    t = time.perf_counter()
    sim = SimProcess(plan)
    print(f"   simulator built in its own process ({time.perf_counter() - t:.1f} s)", flush=True)
    url = pipeline.fresh_database(root_url, "day")
    with psycopg.connect(url, autocommit=True) as conn:  # time in the audit trigger, for the report
        conn.execute(
            sql.SQL("alter database {} set track_functions = 'pl'").format(sql.Identifier(conn.info.dbname))
        )
    if args.statements:
        pg_statements.enable(url)
    settings = tune(pipeline.configure(url, sim.url, args.concurrency), "http://127.0.0.1", args.fraction)
    runtime = Runtime.build(settings, name="revos-api")
    await runtime.open()
    configure_linkedin_client(runtime, sim.url, SIM_KEY)
    try:
        async with serve_api(runtime) as api_url:
            settings.public_base_url = api_url
            await ensure_webhooks(runtime)  # Unipile's events to this API, as a deployment subscribes once
            t = time.perf_counter()
            setups = await bulk_tenants(runtime, url, sim.world)
            print(f"   tenants and accounts, bulk SQL: {time.perf_counter() - t:.1f} s", flush=True)
            t = time.perf_counter()
            for c, setup in enumerate(setups):
                await through_api(api_url, plan, c, setup)
            print(
                f"   through the API: {plan.clients} lead magnets and webhook configs, {plan.campaigns}"
                f" campaigns created and activated, {plan.clients} pods with {ACCOUNTS_PER_CLIENT} members:"
                f" {time.perf_counter() - t:.1f} s",
                flush=True,
            )
            t = time.perf_counter()
            planned = sum(
                await asyncio.gather(
                    *(
                        submit_pod_posts(runtime, sc, s)
                        for sc, s in zip(sim.world.clients, setups, strict=True)
                    )
                )
            )
            print(
                f"   members' posts submitted to the pods (bulk): {plan.pod_posts} posts, {planned} activities"
                f" planned in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
            # The replay's clock for what was planned so far, before the window (an audited update each).
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(FAST_FORWARD_SQL)
                await night_before(conn)
            await measure(args, plan, url, root, runtime, sim, setups, api_url)
    finally:
        for setup in setups if "setups" in locals() else []:
            if setup.receiver is not None:
                await setup.receiver.stop()
        await close_linkedin_client(runtime)
        await runtime.close()
        sim.stop()


async def night_before(conn: psycopg.AsyncConnection[Any]) -> None:
    """What a deployment has done by the morning of a day: the set-up's audit entries sealed (the bulk
    inserts and the fast-forward wrote two per pod activity) and the database vacuumed and analysed. The
    window then measures the day's own work, not the debris of a set-up that put a month of writes into
    a few minutes: before this, the worker's sealer chained about two million of the set-up's entries
    in the window of a full day, and autovacuum went through a 500 MB `audit_pending` about thirty
    times."""
    from revos.db.audit_seal import seal_url

    t = time.perf_counter()
    sealed = await seal_url(conn)
    sealing = time.perf_counter() - t
    await conn.execute("vacuum (analyze)")
    print(
        f"   the night before: the set-up's {sealed} audit entries sealed in {sealing:.1f} s, the database"
        f" vacuumed and analysed in {time.perf_counter() - t - sealing:.1f} s",
        flush=True,
    )


async def measure(
    args: argparse.Namespace,
    plan: Plan,
    url: str,
    root: Path,
    runtime: Any,
    sim: SimProcess,
    setups: list[ClientSetup],
    api_url: str,
) -> None:
    import httpx

    before = await tables(url)
    trigger_before = await audit_trigger_ms(url)
    workers = [
        WorkerProcess(url, sim.url, api_url, args.concurrency, args.fraction, n) for n in range(args.workers)
    ]
    for worker in workers:
        await worker.started()
    finished = False
    async with await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row) as conn:
        # This bench's own backend (progress counts, fast-forward) is measured apart, not as revOS's.
        monitor = conn.info.backend_pid
        # Its counts over the day's largest tables stay in its own backend (no parallel workers, which
        # would be measured as PostgreSQL's work for revOS).
        await conn.execute("set max_parallel_workers_per_gather = 0")
        meter = Meter(
            {
                "worker": [w.pid for w in workers if w.pid is not None],
                "simulator": sim.pid,
                "api": os.getpid(),
                "bench monitor": monitor,
            },
            pipeline.postmaster_pid(root),
        )
        with py_spy(workers[0].pid, args.profile):
            commits = await xact_commits(conn)
            job0 = await last_job_id(conn)
            t0 = datetime.now(UTC)
            log = pg_statements.log_path(root)
            log_start, log_end = pg_statements.offset(log), 0
            meter.begin()
            started = time.perf_counter()
            polls = 0
            # The day starts: every campaign post is published.
            for setup in setups:
                async with httpx.AsyncClient(
                    base_url=api_url, headers={"X-API-Key": setup.api_key}, timeout=120.0, trust_env=False
                ) as api:
                    for post in setup.posts:
                        check(await api.post(f"/v1/posts/{post}/publish-now"), "publish a post")
            shown, stable, done_at = started, 0, started
            row: dict[str, Any] = {}
            # The counts scan the day's largest tables: at F=1 counting every second took a fifth of a
            # core from the machine revOS runs on. They are taken every `every` seconds (10 at F=1).
            every = max(1, round(10 * args.fraction))
            ticks = 0
            while time.perf_counter() - started < args.timeout:
                await conn.execute(FAST_FORWARD_SQL)
                polls += 1
                ticks += 1
                if ticks % every:
                    await asyncio.sleep(1.0)
                    continue
                row = await (await conn.execute(PROGRESS_SQL)).fetchone() or {}
                polls += 1
                stable = stable + 1 if done_when(plan, row) else 0
                if stable == 1:
                    done_at = time.perf_counter()
                if stable >= 2:
                    finished = True
                    break
                if time.perf_counter() - shown >= 10:
                    shown = time.perf_counter()
                    print(
                        f"  … {shown - started:6.0f} s: {row['posts']}/{plan.campaigns} posts, {row['leads']}/"
                        f"{plan.leads} leads, {row['dms']}/{3 * plan.leads} DMs, {row['delivered']} emails"
                        f" delivered, pod {row['pod_completed']}/{row['pod_planned']} done"
                        f" ({row['pod_pending']} pending), {row['unsettled']} actions unsettled",
                        flush=True,
                    )
                await asyncio.sleep(1.0)
            # Done when first seen done (and seen so again at the next count).
            wall = (done_at if finished else time.perf_counter()) - started
            names = await backend_names(conn)
            cpu = meter.end()
            log_end = pg_statements.offset(log)
            pg_parts = meter.postgres_by(names)
            # not the monitor's own (its polls, the names' query and this one)
            commits = await xact_commits(conn) - commits - polls - 2
        kinds = await (await conn.execute(KINDS_SQL)).fetchall()
        audit = await (await conn.execute(AUDIT_SQL, (t0,))).fetchall()
        pods = await (await conn.execute(POD_OUTCOMES_SQL)).fetchall()
        jobs = await (await conn.execute(JOBS_SQL, (job0,))).fetchall()
        comment_polls = (await (await conn.execute(POLLS_SQL)).fetchone())["n"]
    record = await sim.record()
    await unledgered_invitations(url, record["invited"])
    raw = await raw_burst(sim, plan.raw) if plan.raw else {}
    for worker in workers:
        await worker.stop()
    after = await tables(url)
    trigger_ms = await audit_trigger_ms(url) - trigger_before
    report(plan, finished, wall, cpu, kinds, record, raw, before, after, setups, row, pg_parts)
    if kinds:
        total = sum(k["n"] for k in kinds if k["status"] == "done")
        entries = ", ".join(f"{a['table_name']} {a['operation'].lower()} {a['n'] / total:.2f}" for a in audit)
        print(
            f"   per action confirmed      : {commits / total:.1f} commits; in the audit triggers (wall)"
            f" {trigger_ms / total:.2f} ms; audit entries: {entries}"
        )
        print("   pod activities            : " + ", ".join(f"{p['status']} {p['n']}" for p in pods))
        per_lead = max(plan.leads, 1)
        print(
            f"   queue jobs                : {sum(j['n'] for j in jobs)} ("
            + ", ".join(f"{j['task_name']} {j['n']}" for j in jobs)
            + f"); {sum(j['n'] for j in jobs) / per_lead:.1f} per lead"
        )
        print(
            f"   comment polls             : {comment_polls} (a fresh post every"
            f" {fresh_poll_seconds(plan.fraction):.0f} s, `fresh_poll_seconds`)"
        )
        if args.statements:
            pg_statements.report(
                pg_statements.read(log, log_start, log_end, {monitor}), total, args.statements
            )


def report(
    plan: Plan,
    finished: bool,
    wall: float,
    cpu: dict[str, float],
    kinds: list[dict[str, Any]],
    record: dict[str, Any],
    raw: dict[str, tuple[int, float]],
    before: dict[str, tuple[int, int, int, int]],
    after: dict[str, tuple[int, int, int, int]],
    setups: list[ClientSetup],
    row: dict[str, Any],
    pg_parts: dict[str, float],
) -> None:
    done = {k["kind"]: k["n"] for k in kinds if k["status"] == "done"}
    other = {f"{k['kind']} {k['status']}": k["n"] for k in kinds if k["status"] != "done"}
    total = sum(done.values())
    print(f"\n== the day at fraction {plan.fraction}: {'finished' if finished else 'NOT FINISHED (timeout)'}")
    print(f"   wall time                 : {wall:.1f} s ({os.cpu_count()} cores, shared)")
    print("   LinkedIn actions confirmed in the ledger (status done), and the simulator's own count:")
    for kind in ("post", "dm", "invitation", "comment", "reaction", "profile_view"):
        if kind in done or record.get(kind):
            n = done.get(kind, 0)
            print(f"     {kind:<12}: {n:7d}  {n / wall:8.1f}/s   simulator saw {record.get(kind, '-')}")
    print(f"     {'all':<12}: {total:7d}  {total / wall:8.1f}/s" + (f"   not done: {other}" if other else ""))
    if total:
        per = {part: 1000 * seconds / total for part, seconds in cpu.items()}
        print(
            "   CPU per action            : "
            + ", ".join(f"{part} {ms:.2f} ms" for part, ms in per.items())
            + f"; worker + PostgreSQL {per['worker'] + per['postgres']:.2f} ms"
        )
        print(
            "   PostgreSQL's, by process  : "
            + ", ".join(
                f"{name} {1000 * s / total:.2f} ms"
                for name, s in sorted(pg_parts.items(), key=lambda t: -t[1])
                if s >= 0.00001 * total
            )
            + " (connections by application_name; other: exited during the window)"
        )
        print(
            "   CPU during the window     : "
            + ", ".join(f"{part} {s:.1f} s ({100 * s / wall:.0f}% of a core)" for part, s in cpu.items())
        )
        full = total / plan.fraction
        rate = total / wall
        ms = per["worker"] + per["postgres"]
        print(
            f"   the full day (F=1)        : {full:,.0f} actions; at this run's rate {full / rate / 3600:.1f} h;"
            f" at {ms:.2f} ms CPU (worker + PostgreSQL) each, {full * ms / 1000 / 3600:.1f} CPU-hours"
            + ("" if finished else " (NOT FINISHED: only the actions done are counted)")
        )
    if raw:
        print(
            "   simulator's raw rate      : "
            + ", ".join(f"{k} {n / s:.0f}/s" for k, (n, s) in raw.items())
            + " (the revOS client straight at it, 16 at a time, same run)"
        )
    received = sum(s.receiver.count for s in setups if s.receiver)
    leads = sum(len(s.receiver.leads) for s in setups if s.receiver)
    rejected = sum(s.receiver.rejected for s in setups if s.receiver)
    print(
        f"   emails                    : {record['replies with email']} replies with an email,"
        f" {leads} distinct leads delivered to the ESP receivers with a valid signature"
        f" ({received} requests, {rejected} rejected)"
    )
    print(
        f"   exactly once (simulator)  : {record['dm twice']} members got the same DM twice,"
        f" {record['invitation twice']} invited twice, {record['engagement twice']} engagements made twice,"
        f" {record['post twice']} campaign posts published twice; ledger vs simulator: "
        + ", ".join(
            f"{k} {done.get(k, 0)}/{record[k]}" for k in ("post", "dm", "invitation", "comment", "reaction")
        )
    )
    grown = sorted(
        (
            (name, after[name][0] - before.get(name, (0, 0))[0], after[name][1] - before.get(name, (0, 0))[1])
            for name in after
        ),
        key=lambda t: -t[2],
    )
    print("   table growth (rows inserted, bytes), largest first:")
    for name, rows, size in grown:
        if rows or size:
            print(
                f"     {name:<45} {rows:9d} rows {size / 1e6:9.2f} MB"
                + (f"  {size / rows:6.0f} B/row" if rows else "")
            )
    print(
        f"   total                                         {sum(g[1] for g in grown):9d} rows"
        f" {sum(g[2] for g in grown) / 1e6:9.2f} MB"
    )
    zero = (0, 0, 0, 0)
    updated = sorted(
        ((name, after[name][2] - before.get(name, zero)[2], after[name][3] - before.get(name, zero)[3])
         for name in after),
        key=lambda t: -t[1],
    )  # fmt: skip
    print(
        "   rows updated (of which HOT: no index entry written):  "
        + ", ".join(f"{name} {n} ({100 * hot / n:.0f}%)" for name, n, hot in updated[:8] if n)
    )
    if not finished:
        print(f"   last progress: {row}")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fraction", type=float, default=0.1, help="of the spec's day (1.0: the whole day)")
    parser.add_argument("--leads-per-day", type=int, default=33_334, help="trigger comments at F=1")
    parser.add_argument(
        "--pod-activities-per-day",
        type=int,
        default=SPEC["pod activities"],
        help="pod activities at F=1 (0: only those of the campaigns' own posts)",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="jobs each worker runs at once")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="`revos worker` processes (their CPU is summed as the worker's)",
    )
    parser.add_argument(
        "--raw", type=int, default=300, help="raw calls of each kind at the simulator (0: skip)"
    )
    parser.add_argument("--timeout", type=float, default=7200.0, help="wall seconds for the day")
    parser.add_argument("--profile", help="py-spy the worker into this file (collapsed stacks)")
    parser.add_argument(
        "--statements",
        type=int,
        default=0,
        metavar="N",
        help="print the N statements PostgreSQL spent most CPU on (log_statement_stats; bench/pg_statements.py)",
    )
    args = parser.parse_args()
    if not 0 < args.fraction <= 1:
        parser.error("--fraction must be in (0, 1]")
    if args.profile and not Path(sys.executable).with_name("py-spy").exists():
        parser.error("--profile needs py-spy in the environment: .venv/bin/pip install py-spy")
    logging.basicConfig(level=logging.WARNING)
    with pipeline.embedded_server() as (root_url, root):
        asyncio.run(day(args, root_url, root))


if __name__ == "__main__":
    cli()
