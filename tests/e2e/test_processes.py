"""revOS as several processes: two `revos serve` and two `revos worker`, real processes of the installed
command configured by the environment alone (one of each on uvloop, the default event loop, the other on
asyncio's own), on one PostgreSQL, against the simulated LinkedIn and a local ESP. The whole pipeline runs
through them: the campaign is set up through one API process, the leads are read, Unipile's webhooks
land and the download links are opened through the other (and the first); one worker is killed (SIGKILL)
while LinkedIn holds one of its sends open.

In the end nobody got a DM or an invitation twice (the simulator's records), every lead is terminal and
every email reached the ESP, and both workers ran jobs (procrastinate's own tables say which worker ran
what). Everything runs on the wall clock: the delays are seconds, and the test waits on progress only.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from revos import migrations
from revos.clock import SystemClock
from revos.config import get_settings
from revos.demo import world as demo_world
from revos.demo.world import check, make_pdf
from revos.runtime import Runtime
from revos.sim import FaultRule, Login, Persona, Simulator, serve
from revos.tenancy.bootstrap import ensure_demo_tenant
from revos.webhooks.receiver import Receiver
from revos.webhooks.schemas import EVENT_TYPES
from tests.e2e.faults.audit import audit
from tests.e2e.faults.plan import Chaos, FaultPlan, arm_first
from tests.e2e.processes import RevosProcess, free_port, revos_env

SIM_KEY = "procs-sim-key"
CONNECTED, INVITED = 8, 2  # members already connected to the account, and members it must invite first
EVERY_SECOND = "* * * * * *"
# What a deployment would tune for throughput, shortened to wall seconds for the test.
SETTINGS = {
    "webhook_allow_http_loopback": "true",
    "cron_dms_dispatch": EVERY_SECOND,
    "cron_inbound_sweep": EVERY_SECOND,
    "cron_webhook_dispatch": EVERY_SECOND,
    "cron_posts_publish_due": EVERY_SECOND,
    "cron_posts_poll_due": EVERY_SECOND,
    "cron_recover_stalled_jobs": EVERY_SECOND,
    "poll_fresh_seconds": "1",
    "poll_jitter": "0",
    "worker_poll_interval_seconds": "0.5",
    "worker_heartbeat_seconds": "0.5",
    "stalled_after_seconds": "3",
    "unipile_timeout_seconds": "4",
    "action_inflight_timeout_seconds": "6",
    "action_reconcile_delay_seconds": "0.5",
    "action_retry_seconds": "1",
    "inbound_sweep_after_seconds": "5",
    "safety_working_hours_enabled": "false",
    "safety_warmup_days": "0",
    "log_level": "WARNING",
}
SAFETY = {
    "working_hours_enabled": False,
    "warmup_days": 0,
    "gap_min_seconds": 0,
    "gap_max_seconds": 0,
    "cap_dm": 1000,
    "cap_invitation": 500,
}
CAMPAIGN_SETTINGS = {
    "step1_delay_min_seconds": 0,
    "step1_delay_max_seconds": 0,
    "step2_delay_seconds": 0,
    "step3_delay_seconds": 0,
    "abandon_after_days": 1,
    "email_review_threshold": 0,
}
RUNNING_DMS_SQL = "select id, worker_id from procrastinate.procrastinate_jobs where status = 'doing' and task_name = 'dms.run_account'"
IN_FLIGHT_SQL = "select action_key from linkedin_actions where status = 'in_flight'"
PROGRESS_SQL = """
select count(*) filter (where status in ('completed', 'abandoned', 'failed')) as terminal,
  count(*) filter (where link_clicked) as clicks,
  (select count(*) from webhook_deliveries where status <> 'success') as undelivered
from dm_sequences where campaign_id = %s
"""
JOBS_BY_WORKER_SQL = """
select worker_id, count(*) as n from procrastinate.procrastinate_jobs
where worker_id is not null and status <> 'todo' group by worker_id
"""


def populate(sim: Simulator) -> tuple[Login, list[str]]:
    """The account's login, and members who comment the trigger word within seconds of the post, reply
    with their email a moment after the first DM and accept an invitation at once. One comments twice."""
    login = sim.add_account(username="owner@procs.example", password="pw", name="Procs Owner")
    members = []
    for i in range(CONNECTED + INVITED):
        persona = Persona(
            comment="twice" if i == 0 else "trigger",
            trigger_word="GUIDE",
            comment_delay=0.5 + 0.25 * i,
            reply="email",
            reply_delay=0.5,
            on_invite="accept",
            invite_delay=0.5,
        )
        connected = [login] if i < CONNECTED else []
        member = sim.add_member(f"Member{i}", "Procs", persona=persona, connected_to=connected)
        members.append(member.provider_id)
    return login, members


@dataclass
class Story:
    """What happened when (seconds since the test started): the message of a failed assertion."""

    started: float = field(default_factory=time.monotonic)
    lines: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.lines.append(f"{time.monotonic() - self.started:5.1f}s {what}")

    def __str__(self) -> str:
        return "\n".join(self.lines)


async def until(check: Callable[[], Awaitable[bool]], what: str, story: Story, within: float = 120.0) -> None:
    """Poll `check` until it holds; `within` only bounds a run that stopped making progress."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within:g} s: {what}\n{story}")
        await asyncio.sleep(0.2)
    story.note(what)


@dataclass
class Kill:
    """The worker killed mid-send, and what it left behind."""

    worker: RevosProcess
    job: int  # its DM run, 'doing' when it died
    in_flight: list[str]  # ledger keys in flight at the kill
    jobs_before: dict[int, int]  # jobs run so far, by worker id


@pytest.mark.timeout(600)  # a ceiling for a stuck run; the run takes well under a minute
async def test_two_api_and_two_worker_processes_run_every_lead_once_and_lose_nothing(
    empty_db_url: str, tmp_path: Path
) -> None:
    story = Story()
    migrations.migrate(empty_db_url)
    story.note("database migrated")
    runtime = Runtime.build(get_settings().model_copy(update={"database_url": empty_db_url}))
    await runtime.open()
    sim = Simulator(api_key=SIM_KEY, seed=5, clock=SystemClock(), id_seed=secrets.token_hex(8))
    login, members = populate(sim)
    receiver = await Receiver().start()
    processes: list[RevosProcess] = []
    try:
        tenant = await ensure_demo_tenant(runtime.db, runtime.jwt_secret)
        async with serve(sim, host="127.0.0.1", port=0) as sim_url:
            urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
            env = revos_env(
                database_url=empty_db_url,
                data_dir=str(tmp_path / "data"),  # the lead magnet: in one directory every process reads
                unipile_dsn=sim_url,
                unipile_api_key=SIM_KEY,
                public_base_url=urls[1],  # Unipile's webhooks and the download links go to the second API
                **SETTINGS,
            )
            # The first of each on the default event loop (uvloop), the second on asyncio's own.
            loops = [env, {**env, "REVOS_EVENT_LOOP": "asyncio"}]
            for i, url in enumerate(urls):
                port = url.rsplit(":", 1)[1]
                processes.append(
                    await RevosProcess.start(f"api-{i + 1}", ["serve", "--port", port], loops[i], tmp_path)
                )
            for i in range(2):
                processes.append(await RevosProcess.start(f"worker-{i + 1}", ["worker"], loops[i], tmp_path))
            workers = processes[2:]
            for proc, url in zip(processes, urls, strict=False):
                await proc.wait_api(url)
            for worker in workers:
                await worker.wait_worker()
            story.note(f"processes up (workers {[w.worker_id for w in workers]})")
            # An operator tells them apart in pg_stat_activity: each names its connections.
            async with runtime.db.raw() as conn:
                named = await conn.execute(
                    "select application_name from pg_stat_activity where datname = current_database()"
                )
                names = {row["application_name"] for row in await named.fetchall()}
            assert {"revos-api", "revos-worker", "revos-queue"} <= names, names

            auth = {"X-API-Key": tenant.api_key}
            async with (
                httpx.AsyncClient(base_url=urls[0], headers=auth, timeout=30.0, trust_env=False) as first,
                httpx.AsyncClient(base_url=urls[1], headers=auth, timeout=30.0, trust_env=False) as second,
            ):
                ids = await set_up(first, receiver, login)
                story.note(f"campaign set up and its post published through {urls[0]}")
                kill = await run(runtime, sim, (first, second), ids, members, workers, story)
            await sim.webhooks.wait_idle(10.0)
            await check_outcome(runtime, sim, login, receiver, ids, kill, workers, story)
            story.note("audited")
            print(story)
    finally:
        for proc in processes:
            await proc.stop()
        await receiver.stop()
        await runtime.close()


async def check_outcome(
    runtime: Runtime,
    sim: Simulator,
    login: Login,
    receiver: Receiver,
    ids: dict[str, UUID],
    kill: Kill,
    workers: list[RevosProcess],
    story: Story,
) -> None:
    # What every member received (the simulator's records) against what revOS recorded, the killed
    # worker's in-flight action settled: nothing twice, nothing unrecorded, every lead terminal.
    chaos = Chaos(killed_in_flight=kill.in_flight)
    world = demo_world.DemoWorld(sim, login, [], {})
    plan = FaultPlan(cap_dm=SAFETY["cap_dm"], cap_invitation=SAFETY["cap_invitation"])
    report = await audit(runtime, world, ids, receiver.leads, plan, chaos)
    story.note(f"figures {report.figures}")
    assert report.problems == {}, story
    leads = CONNECTED + INVITED
    assert report.figures["leads"] == report.figures["terminal"] == leads, story
    assert report.figures["emails"] == report.figures["verified_at_esp"] == leads, story
    assert report.figures["invitations_sent"] == INVITED, story
    assert report.figures["dms_sent"] == 3 * leads, story  # three steps each, once

    # Every delivery made, once: each lead captured, clicked and completed reached the ESP, signed.
    events = Counter(_event(r.body) for r in receiver.requests if r.verified)
    assert events == {"lead.captured": leads, "link.clicked": leads, "lead.completed": leads}, events
    assert receiver.rejected == 0
    async with runtime.db.raw() as conn:
        undelivered = await (
            await conn.execute("select id, status from webhook_deliveries where status <> 'success'")
        ).fetchall()
        failed = await (
            await conn.execute(
                "select queue_job_id as id, job_type as task_name, error_message from queue_jobs"
                " where queue_status = 'failed'"
            )
        ).fetchall()
        jobs = {r["worker_id"]: r["n"] for r in await (await conn.execute(JOBS_BY_WORKER_SQL)).fetchall()}
    assert undelivered == []
    # No job lost: a job failed only because the killed worker was running it, as the stalled-job
    # recovery says: its DM run (one attempt by design; the dispatcher handed its sequences to a new
    # run), or a periodic tick it happened to be running (not retried: the next tick does the work).
    died = f"worker {kill.worker.worker_id} stopped heartbeating while running this job"
    assert [
        r for r in failed if r["id"] != kill.job and not (r["error_message"] or "").startswith(died)
    ] == []

    # Both workers ran jobs: the killed one before it died, the survivor after that.
    survivor = next(w for w in workers if w is not kill.worker)
    assert kill.worker.worker_id is not None
    assert survivor.worker_id is not None
    assert kill.jobs_before.get(kill.worker.worker_id, 0) > 0, (kill.jobs_before, str(story))
    assert jobs.get(survivor.worker_id, 0) > kill.jobs_before.get(survivor.worker_id, 0), (
        kill.jobs_before,
        jobs,
    )
    story.note(f"jobs by worker: before the kill {kill.jobs_before}, the survivor in the end {jobs}")


async def set_up(api: httpx.AsyncClient, receiver: Receiver, login: Login) -> dict[str, UUID]:
    """Through one API process, as a user would: the account, the lead magnet, the ESP webhook, the
    campaign, its post published."""
    account = check(
        await api.post(
            "/v1/linkedin-accounts", json={"username": login.username, "password": "pw", "safety": SAFETY}
        ),
        "connect the account",
    )
    magnet = check(
        await api.post(
            "/v1/lead-magnets",
            data={"name": "The Guide"},
            files={"file": ("guide.pdf", make_pdf(), "application/pdf")},
        ),
        "upload the lead magnet",
    )
    hook = check(
        await api.post(
            "/v1/webhooks/configs",
            json={"name": "ESP", "esp_type": "custom", "url": receiver.url, "events": list(EVENT_TYPES)},
        ),
        "create the webhook",
    )
    receiver.secret = hook["secret"]
    campaign = check(
        await api.post(
            "/v1/campaigns",
            json={
                "name": "Processes",
                "trigger_words": ["GUIDE"],
                "lead_magnet_id": magnet["id"],
                "webhook_config_id": hook["id"],
                "dm_template_step1": "Hi {{first_name}}, where should I send {{lead_magnet_name}}?",
                "dm_template_step2": "Thanks {{first_name}}, it is on its way to {{email}}.",
                "dm_template_step3": "Here it is directly, {{first_name}}: {{download_url}}",
                "settings": CAMPAIGN_SETTINGS,
            },
        ),
        "create the campaign",
    )
    check(await api.post(f"/v1/campaigns/{campaign['id']}/activate"), "activate the campaign")
    post = check(
        await api.post(
            "/v1/posts",
            json={
                "campaign_id": campaign["id"],
                "linkedin_account_id": account["id"],
                "content": "I wrote a guide. Comment GUIDE and I'll send it.",
            },
        ),
        "draft the post",
    )
    check(await api.post(f"/v1/posts/{post['id']}/publish-now"), "publish the post", 202)
    return {"account": UUID(account["id"]), "campaign": UUID(campaign["id"]), "post": UUID(post["id"])}


async def run(
    runtime: Runtime,
    sim: Simulator,
    apis: tuple[httpx.AsyncClient, httpx.AsyncClient],
    ids: dict[str, UUID],
    members: list[str],
    workers: list[RevosProcess],
    story: Story,
) -> Kill:
    """Watch the leads come in through the second API, kill a worker mid-send, open every download link
    (through both APIs) until every lead is terminal and every delivery made."""
    total = len(members)

    async def all_leads() -> bool:
        page = check(await apis[1].get("/v1/leads", params={"campaign_id": str(ids["campaign"])}), "leads")
        return len(page["items"]) == total

    await until(all_leads, f"{total} leads, listed through the second API", story)
    await until(lambda: _true(len(sim.sent_messages()) >= 3), "3 DMs on LinkedIn", story)
    kill = await kill_mid_send(runtime, sim, workers, story)

    clicked: set[str] = set()

    async def done() -> bool:
        for n, member in enumerate(members):
            links = [m.text for m in sim.sent_messages(to=member) if m.text and "/d/" in m.text]
            if links and member not in clicked:
                path = "/d/" + links[-1].split("/d/", 1)[1].split()[0]
                response = await apis[n % 2].get(path, follow_redirects=False)
                assert response.status_code < 400, response.text
                clicked.add(member)
        async with runtime.db.raw() as conn:
            row = await (await conn.execute(PROGRESS_SQL, (ids["campaign"],))).fetchone()
        assert row is not None
        return len(clicked) == row["terminal"] == row["clicks"] == total and row["undelivered"] == 0

    await until(done, "every lead terminal, its link opened and every delivery made", story, within=240.0)
    return kill


async def kill_mid_send(runtime: Runtime, sim: Simulator, workers: list[RevosProcess], story: Story) -> Kill:
    """LinkedIn records a DM and holds its answer: the worker that sent it is killed (SIGKILL) meanwhile,
    its job 'doing' and its action in flight."""
    held = arm_first(
        sim, FaultRule("timeout", route="POST /chats*", after=True, hang=True, hang_seconds=8, times=1)
    )
    await until(lambda: _true(held.hits >= 1), "a DM send held open by LinkedIn", story)
    async with runtime.db.raw() as conn:
        running = await (await conn.execute(RUNNING_DMS_SQL)).fetchall()
        in_flight = await (await conn.execute(IN_FLIGHT_SQL)).fetchall()
        before = {r["worker_id"]: r["n"] for r in await (await conn.execute(JOBS_BY_WORKER_SQL)).fetchall()}
    assert len(running) == 1, running  # one account: its DM runs take turns
    victim = next(w for w in workers if w.worker_id == running[0]["worker_id"])
    victim.kill()
    await victim.proc.wait()
    kill = Kill(victim, running[0]["id"], [r["action_key"] for r in in_flight], before)
    story.note(
        f"killed {victim.name} (worker {victim.worker_id}) in job {kill.job}, {kill.in_flight} in flight"
    )
    return kill


async def _true(value: bool) -> bool:
    return value


def _event(body: bytes) -> str:
    return str(json.loads(body).get("type"))
