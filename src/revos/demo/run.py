"""The demo's orchestration: simulator, API, worker and an ESP receiver in one asyncio loop; everything set
up through the HTTP API as a user would; members comment over a scaled clock; a reviewer approves emails and
some members click their download link; it stops when every lead is terminal (or at the timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from revos.clock import ScaledClock, get_clock, set_clock
from revos.config import Settings
from revos.demo import funnel as funnel_db
from revos.demo import world as demo_world
from revos.runtime import Runtime
from revos.sim import Simulator, serve
from revos.tenancy.bootstrap import DemoTenant, ensure_demo_tenant
from revos.webhooks.receiver import Receiver as WebhookReceiver

SIM_API_KEY = "demo-sim-key"
EVERY_SECOND = "* * * * * *"
_LINK = re.compile(r"https?://\S+/d/[A-Za-z0-9._~-]+")
# A minimal valid PDF, written in code: one page saying what it is.
_PDF_TEXT = b"BT /F1 18 Tf 72 720 Td (The revOS Growth Guide) Tj ET"


class DemoClock(ScaledClock):
    """Wall time while the user-facing set-up runs (a 2FA code is valid for minutes of real time), then
    `speed` times faster from `speed_up()` on, without a jump."""

    def __init__(self, speed: float) -> None:
        super().__init__(1.0)
        self.speed = speed

    def speed_up(self) -> None:
        self._origin, self._origin_wall = self.now(), time.monotonic()
        self.factor = self.speed


def make_pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(_PDF_TEXT)).encode() + b" >>\nstream\n" + _PDF_TEXT + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@dataclass
class DemoOptions:
    commenters: int = 40
    speed: float = 3600.0  # simulated seconds per wall second: 1 h per second
    seed: int = 7
    host: str = "127.0.0.1"
    port: int = 8000
    timeout: float = 300.0  # wall seconds
    keep_running: bool = False
    show_progress: bool = True


@dataclass
class DemoResult:
    tenant: DemoTenant
    api_url: str
    funnel: dict[str, int]
    ground_truth: dict[str, int]
    elapsed: float
    finished: bool  # every lead terminal before the timeout
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.funnel == self.ground_truth


def demo_settings(base: Settings, speed: float) -> Settings:
    """The deployment's settings, sped up for the demo: short cron periods, leases and timeouts kept in wall
    seconds, working hours all day, no warm-up, unaccepted invitations given up after a day."""
    wall = speed  # one wall second, in clock seconds
    return base.model_copy(
        update={
            "unipile_api_key": SecretStr(SIM_API_KEY),
            "clock_speed": speed,
            "webhook_allow_http_loopback": True,
            "cron_dms_dispatch": EVERY_SECOND,
            "cron_dms_abandon": EVERY_SECOND,
            "cron_dms_poll_replies": "* * * * * */5",
            "cron_inbound_sweep": EVERY_SECOND,
            "cron_webhook_dispatch": EVERY_SECOND,
            "cron_posts_publish_due": EVERY_SECOND,
            "cron_posts_poll_due": EVERY_SECOND,
            "cron_reset_daily_limits": "* * * * * */5",
            "worker_poll_interval_seconds": 0.5,
            "worker_concurrency": 8,
            "dm_invitation_expire_days": 1.0,
            "dm_invitation_check_seconds": (4 * 3600),
            "safety_working_hours_enabled": False,
            "safety_warmup_days": 0,
            "action_inflight_timeout_seconds": 60 * wall,
            "action_reconcile_delay_seconds": 0.5 * wall,
            "webhook_claim_lease_seconds": int(60 * wall),
            "post_publish_lease_seconds": 60 * wall,
            "poll_lease_seconds": 60 * wall,
            "inbound_sweep_after_seconds": 10 * wall,
            "poll_fresh_seconds": 120.0,
        }
    )


CAMPAIGN_SETTINGS: dict[str, Any] = {
    "step1_delay_min_seconds": 60,
    "step1_delay_max_seconds": 600,
    "step2_delay_seconds": 120,
    "step3_delay_seconds": 2 * 3600,
    "abandon_after_days": 1,
    "email_review_threshold": 0.8,
}
ACCOUNT_SAFETY: dict[str, Any] = {
    "working_hours_enabled": False,
    "warmup_days": 0,
    "gap_min_seconds": 5,
    "gap_max_seconds": 30,
    "cap_dm": 1000,
    "cap_invitation": 500,
}


class DemoError(RuntimeError):
    """A set-up call failed: says which and what the API answered."""


def _check(response: httpx.Response, what: str, *codes: int) -> dict[str, Any]:
    if response.status_code not in (codes or (200, 201)):
        raise DemoError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


class _EmbeddedServer(uvicorn.Server):
    """Signals belong to the demo (Ctrl-C stops everything), not to its API server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def _serve_api(runtime: Runtime, host: str, port: int) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    from revos.app import create_app

    config = uvicorn.Config(create_app(runtime), host=host, port=port, log_level="warning", access_log=False)
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise DemoError("the API stopped before starting")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}", server
    finally:
        server.should_exit = True
        await task


async def run_demo(
    base_settings: Settings,
    options: DemoOptions,
    *,
    console: Console | None = None,
    on_ready: Callable[[DemoTenant, str], None] | None = None,
    on_done: Callable[[DemoResult], None] | None = None,
) -> DemoResult:
    """Run the whole pipeline once; the database must be migrated. Restores the process clock afterwards."""
    from revos.accounts.provider import close_linkedin_client
    from revos.queue.worker import QueueWorker

    console = console or Console(stderr=True)
    clock = DemoClock(options.speed)
    previous_clock = set_clock(clock)
    settings = demo_settings(base_settings, options.speed)
    runtime = Runtime.build(settings)
    await runtime.open()
    receiver = await WebhookReceiver().start()
    # The same members and behaviour every run; ids of its own, so runs never collide in the database.
    sim = Simulator(api_key=SIM_API_KEY, seed=options.seed, clock=clock, id_seed=secrets.token_hex(8))
    world = demo_world.build_world(sim, options.commenters, options.seed)
    worker: QueueWorker | None = None
    worker_task: asyncio.Task[None] | None = None
    ids: dict[str, UUID] = {}

    async def wind_down() -> None:
        # The run's account and campaign are retired, then the worker stops, while the simulator still
        # answers: nothing polls a LinkedIn that is already gone.
        nonlocal worker_task
        if "account" in ids:
            await _retire(runtime, ids)
            ids.clear()
        if worker is not None:
            worker.stop()
        if worker_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker_task, 15)
            worker_task = None

    try:
        tenant = await ensure_demo_tenant(runtime.db, runtime.jwt_secret)
        async with serve(sim, host="127.0.0.1", port=0) as sim_url:
            settings.unipile_dsn = sim_url
            async with _serve_api(runtime, options.host, options.port) as (api_url, _server):
                settings.public_base_url = api_url
                worker = QueueWorker(runtime, settings=settings, name="revos-demo-worker")
                worker_task = asyncio.create_task(worker.run())
                if on_ready is not None:
                    on_ready(tenant, api_url)
                started = time.monotonic()
                try:
                    async with httpx.AsyncClient(
                        base_url=api_url, headers={"X-API-Key": tenant.api_key}, timeout=30.0, trust_env=False
                    ) as api:
                        ids.update(await _set_up(api, receiver, console))
                        finished, details = await _run_until_done(
                            api, runtime, world, receiver, ids, options, console
                        )
                        async with runtime.db.raw() as conn:
                            measured = await funnel_db.funnel(
                                conn, campaign_id=ids["campaign"], post_id=ids["post"]
                            )
                        truth = demo_world.ground_truth(
                            world, webhooks=len(receiver.leads), clicks=len(details["clicked"])
                        )
                        details["clicked"] = sorted(details["clicked"])
                        details["repeats"] = demo_world.repeats(world)
                        details["receiver_rejected"] = receiver.rejected
                        result = DemoResult(
                            tenant, api_url, measured, truth, time.monotonic() - started, finished, details
                        )
                        if on_done is not None:
                            on_done(result)
                        if options.keep_running:
                            console.print(f"still serving on {api_url} (Ctrl-C to stop)")
                            await asyncio.Event().wait()
                        return result
                finally:
                    await wind_down()
    finally:
        await wind_down()
        await receiver.stop()
        await close_linkedin_client(runtime)
        await runtime.close()
        set_clock(previous_clock)


async def _retire(runtime: Runtime, ids: dict[str, UUID]) -> None:
    """The simulated LinkedIn ends with the demo: complete the run's campaign and pause its account, so
    later runs and workers leave the run's leftovers alone (no polling of an account that is gone)."""
    from revos.accounts import safety
    from revos.campaigns.service import transition

    with contextlib.suppress(Exception):
        async with runtime.db.service(actor="demo") as conn:
            await safety.pause(conn, ids["account"], "the demo's simulated LinkedIn stopped with the demo")
            if "campaign" in ids:
                await transition(conn, ids["campaign"], "completed")


async def _set_up(api: httpx.AsyncClient, receiver: WebhookReceiver, console: Console) -> dict[str, UUID]:
    """Everything a user does before the post goes out, through the API. Names carry the run's start
    time: the demo client keeps earlier runs, and names are unique within a client."""
    run = time.strftime("%Y-%m-%d %H:%M:%S")
    account = _check(
        await api.post(
            "/v1/linkedin-accounts",
            json={
                "username": demo_world.USERNAME,
                "password": demo_world.PASSWORD,
                "account_name": f"Demo Owner ({run})",
                "safety": ACCOUNT_SAFETY,
            },
        ),
        "connect the LinkedIn account",
        200,
        201,
        202,
    )
    if account.get("checkpoint"):
        console.print(f"LinkedIn asks for a {account['checkpoint']['type']} code: solving it")
        account = _check(
            await api.post(
                f"/v1/linkedin-accounts/{account['id']}/checkpoint", json={"code": demo_world.TWO_FACTOR_CODE}
            ),
            "solve the checkpoint",
        )
    clock = get_clock()
    if isinstance(clock, DemoClock):
        clock.speed_up()  # from here on, an hour of LinkedIn time is a second (at the default speed)
    magnet = _check(
        await api.post(
            "/v1/lead-magnets",
            data={"name": "The Growth Guide", "description": "demo lead magnet"},
            files={"file": ("growth-guide.pdf", make_pdf(), "application/pdf")},
        ),
        "upload the lead magnet",
    )
    hook = _check(
        await api.post(
            "/v1/webhooks/configs",
            json={"name": f"Demo ESP ({run})", "esp_type": "custom", "url": receiver.url},
        ),
        "create the webhook config",
    )
    receiver.secret = hook["secret"]
    campaign = _check(
        await api.post(
            "/v1/campaigns",
            json={
                "name": f"Demo: The Growth Guide ({run})",
                "trigger_words": [demo_world.TRIGGER],
                "lead_magnet_id": magnet["id"],
                "webhook_config_id": hook["id"],
                "post_template": (
                    "I wrote {{lead_magnet_name}}: everything we learned growing on LinkedIn. "
                    f"Comment {demo_world.TRIGGER} below and I'll send it to you."
                ),
                "dm_template_step1": (
                    "Hi {{first_name}}, thanks for your comment! Where should I send {{lead_magnet_name}}? "
                    "Reply with your email."
                ),
                "dm_template_step2": "Thanks {{first_name}}! {{lead_magnet_name}} is on its way to {{email}}.",
                "dm_template_step3": "Hi {{first_name}}, here is {{lead_magnet_name}} directly: {{download_url}}",
                "settings": CAMPAIGN_SETTINGS,
            },
        ),
        "create the campaign",
    )
    _check(await api.post(f"/v1/campaigns/{campaign['id']}/activate"), "activate the campaign")
    post = _check(
        await api.post(
            "/v1/posts", json={"campaign_id": campaign["id"], "linkedin_account_id": account["id"]}
        ),
        "draft the post",
    )
    _check(await api.post(f"/v1/posts/{post['id']}/publish-now"), "publish the post", 200, 202)
    return {
        "account": UUID(account["id"]),
        "campaign": UUID(campaign["id"]),
        "post": UUID(post["id"]),
    }


async def _run_until_done(
    api: httpx.AsyncClient,
    runtime: Runtime,
    world: demo_world.DemoWorld,
    receiver: WebhookReceiver,
    ids: dict[str, UUID],
    options: DemoOptions,
    console: Console,
) -> tuple[bool, dict[str, Any]]:
    sim = world.sim
    total_comments = demo_world.expected_comments(world)
    total_leads = demo_world.expected_leads(world)
    clicked: set[str] = set()
    expired: set[str] = set()
    approved = 0
    deadline = time.monotonic() + options.timeout
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not options.show_progress,
        transient=False,
    )
    with progress:
        bar_comments = progress.add_task("comments", total=total_comments)
        bar_leads = progress.add_task("leads done", total=total_leads)
        bar_hooks = progress.add_task("leads at the ESP", total=None)
        bar_clicks = progress.add_task("download clicks", total=None)
        finished = False
        while time.monotonic() < deadline:
            approved += await _review(api, ids["campaign"])
            clickable = await _click(api, world, clicked, expired)
            async with runtime.db.raw() as conn:
                state = await funnel_db.progress(conn, campaign_id=ids["campaign"])
                seen = await funnel_db.funnel(conn, campaign_id=ids["campaign"], post_id=ids["post"])
            made = len(sim.ground_truth(kind="comment"))
            progress.update(bar_comments, completed=made)
            progress.update(bar_leads, completed=state.terminal, total=max(total_leads, state.leads))
            progress.update(bar_hooks, completed=len(receiver.leads), total=seen["emails"] or None)
            progress.update(bar_clicks, completed=len(clicked), total=clickable or None)
            # Done when the world has nothing more to do, whatever the time: a lead is terminal once its
            # backup DM is out, which may be before its delivery to the ESP has gone through.
            if (
                made == total_comments
                and seen["comments"] == total_comments
                and state.leads == total_leads
                and state.terminal == state.leads
                and state.in_review == 0
                and len(clicked) + len(expired) == clickable
                and seen["webhooks"] >= seen["emails"]
                and len(receiver.leads) >= seen["webhooks"]
            ):
                finished = True
                break
            await asyncio.sleep(0.25)
    details: dict[str, Any] = {"clicked": clicked, "approved": approved, "expired_links": sorted(expired)}
    if not finished:
        console.print(f"[yellow]timed out after {options.timeout:.0f} s with leads still in flight[/yellow]")
        async with runtime.db.raw() as conn:
            details["stuck"] = await funnel_db.stuck(conn, campaign_id=ids["campaign"])
            details["jobs"] = await funnel_db.queue_state(conn)
        for line in details["jobs"]:
            console.print(f"  {line}")
        for line in details["stuck"]:
            console.print(f"  {line}")
    return finished, details


async def _review(api: httpx.AsyncClient, campaign_id: UUID) -> int:
    """The demo reviewer: accepts every email waiting in the review queue as read."""
    queue = _check(
        await api.get("/v1/leads/review", params={"campaign_id": str(campaign_id)}), "review queue"
    )
    done = 0
    for lead in queue.get("items", []):
        response = await api.post(f"/v1/leads/{lead['id']}/review/approve", json={})
        if response.status_code == 200:
            done += 1
    return done


async def _click(
    api: httpx.AsyncClient, world: demo_world.DemoWorld, clicked: set[str], expired: set[str]
) -> int:
    """Clickers open the link of the backup DM (step 3) the simulator recorded; returns how many clickers
    have such a link so far. A link already expired when its clicker gets to it (the clock runs on while
    a slow machine catches up) goes to `expired`: they tried, nobody downloaded, and nobody will."""
    available = 0
    for provider_id in sorted(world.clickers):
        links = [
            match.group(0)
            for msg in world.sim.sent_messages(to=provider_id)
            for match in [_LINK.search(msg.text or "")]
            if match
        ]
        if not links:
            continue
        available += 1
        if provider_id in clicked or provider_id in expired:
            continue
        path = "/" + links[-1].split("://", 1)[1].split("/", 1)[1]
        response = await api.get(path, follow_redirects=False)
        if response.status_code < 400:
            clicked.add(provider_id)
        elif response.status_code == 410:
            expired.add(provider_id)
    return available
