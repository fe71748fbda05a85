"""The demo's world, for `revos demo` and the fault run alike.

The simulated LinkedIn: one login behind a 2FA checkpoint and N members with mixed personas, and the ground
truth the funnel is compared with (read from what the simulator recorded). Then revOS against it
(`open_stage`): its runtime, the simulator and the API on loopback, an ESP receiver, workers, and the
campaign set up through the HTTP API as a user would."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from rich.console import Console

from revos.accounts import safety
from revos.accounts.provider import close_linkedin_client
from revos.app import create_app
from revos.campaigns.service import transition
from revos.clock import ScaledClock, set_clock
from revos.config import Settings
from revos.demo import funnel as funnel_db
from revos.demo import skills as demo_skills
from revos.queue.worker import QueueWorker
from revos.runtime import Runtime
from revos.sim import Login, Member, Persona, Simulator, serve
from revos.sim.history import give_history
from revos.sim.models import CommentMode, InviteMode, ReplyMode
from revos.tenancy.bootstrap import DemoTenant, ensure_demo_tenant
from revos.webhooks.receiver import Receiver as WebhookReceiver

USERNAME = "owner@demo.revos.dev"
PASSWORD = "demo-password"
TWO_FACTOR_CODE = "424242"
TRIGGER = "GUIDE"
# Called with the set-up's ids so far and the run's name, just before the demo post is published.
BeforePublish = Callable[[dict[str, UUID], str], Awaitable[None]]
FUNNEL_KEYS = ("comments", "leads", "dms", "replies", "emails", "webhooks", "clicks")

_FIRST = (
    "Ada", "Bruno", "Carla", "Dieter", "Eve", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemal", "Lea",
    "Marta", "Nils", "Olga", "Pavel", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Xavier",
    "Yara", "Zoe",
)  # fmt: skip
_LAST = ("Lee", "Martin", "Gómez", "Schmidt", "Stone", "Haddad", "Kim", "Petit", "Rocha", "Berg", "Novak")


@dataclass(frozen=True)
class Script:
    """One kind of member: how they comment, whether they are connected, how they answer."""

    comment: CommentMode
    connected: bool
    reply: ReplyMode = "never"
    on_invite: InviteMode = "accept"
    email_style: str = "plain"
    language: str = "en"


# The mix, cycled through (in a seeded order) to build the members.
SCRIPTS: tuple[Script, ...] = (
    Script("trigger", True, "email"),
    Script("trigger", True, "email", email_style="paren", language="fr"),
    Script("trigger", False, "email", email_style="word", language="es"),
    Script("twice", True, "email", email_style="bracket", language="de"),
    Script("plain", True),
    Script("trigger", True, "no_email"),
    Script("trigger", False, "never"),
    Script("trigger", False, "email", on_invite="ignore"),
    Script("trigger", True, "email", email_style="mailto"),
    Script("trigger", True, "email", email_style="random", language="random"),
    Script("twice", False, "email", email_style="spaced"),
    Script("trigger", True, "never"),
)


@dataclass
class DemoWorld:
    sim: Simulator
    login: Login
    members: list[Member]
    scripts: dict[str, Script]  # provider id -> script
    clickers: set[str] = field(default_factory=set)  # provider ids that click the step-3 link


def build_world(
    sim: Simulator, commenters: int, seed: int, *, spread_seconds: float = 6 * 3600.0
) -> DemoWorld:
    """Populate `sim`: the owner's login (2FA) and `commenters` members commenting over `spread_seconds`."""
    rng = random.Random(f"revos-demo:{seed}")
    login = sim.add_account(
        username=USERNAME, password=PASSWORD, checkpoint="2FA", code=TWO_FACTOR_CODE, name="Demo Owner"
    )
    give_history(sim, login.member, "founder")  # the owner's own posts: the voice its cartridge learns
    order = list(SCRIPTS)
    rng.shuffle(order)
    members: list[Member] = []
    scripts: dict[str, Script] = {}
    clickers: set[str] = set()
    for i in range(commenters):
        script = order[i % len(order)]
        persona = Persona(
            comment=script.comment,
            trigger_word=TRIGGER,
            comment_delay=rng.uniform(300.0, spread_seconds),
            reply=script.reply,
            email_style=script.email_style,
            language=script.language,
            reply_delay=rng.uniform(600.0, 3 * 3600.0),
            on_invite=script.on_invite,
            invite_delay=rng.uniform(1800.0, 4 * 3600.0),
            jitter=0.1,
        )
        first = _FIRST[i % len(_FIRST)]
        last = f"{_LAST[(i // len(_FIRST)) % len(_LAST)]}{'' if i < len(_FIRST) * len(_LAST) else i}"
        member = sim.add_member(
            first, last, persona=persona, connected_to=[login] if script.connected else []
        )
        give_history(sim, member, count=3)
        members.append(member)
        scripts[member.provider_id] = script
        if script.reply == "email" and rng.random() < 0.6:
            clickers.add(member.provider_id)
    return DemoWorld(sim, login, members, scripts, clickers)


def expected_comments(world: DemoWorld) -> int:
    """Comments the members will write in total (a 'twice' member writes two)."""
    per = {"none": 0, "trigger": 1, "plain": 1, "twice": 2}
    return sum(per[s.comment] for s in world.scripts.values())


def engagement_comments(world: DemoWorld) -> int:
    """Comments other connected accounts wrote through the API on the owner's posts (the owner's
    engagement pod): revOS reads them with the members' comments."""
    owner = world.login.provider_id
    return sum(
        1
        for e in world.sim.engagements(kind="comment", through_api=True)
        if e.author_id == owner and e.actor_id != owner
    )


def expected_leads(world: DemoWorld) -> int:
    return sum(1 for s in world.scripts.values() if s.comment in ("trigger", "twice"))


def ground_truth(world: DemoWorld, *, webhooks: int, clicks: int) -> dict[str, int]:
    """The funnel as the simulated LinkedIn saw it; `webhooks` and `clicks` come from the demo's receiver
    (distinct leads with a verified signature) and from the members who clicked their link."""
    sim = world.sim
    comments = sim.ground_truth(kind="comment")
    triggered = {r.member_id for r in comments if r.contains_trigger}
    notes: dict[str, set[str]] = {}
    for inv in sim.invitations():
        if inv.message:
            notes.setdefault(inv.member.provider_id, set()).add(inv.message)
    dms: set[str] = set()
    for msg in sim.sent_messages():
        for member in msg.recipients:
            if msg.text not in notes.get(member.provider_id, set()):
                dms.add(member.provider_id)
    replies = sim.ground_truth(kind="reply")
    return {
        "comments": len(comments) + engagement_comments(world),
        "leads": len(triggered),
        "dms": len(dms & triggered),
        "replies": len({r.member_id for r in replies}),
        "emails": len({r.member_id for r in replies if r.email}),
        "webhooks": webhooks,
        "clicks": clicks,
    }


def repeats(world: DemoWorld) -> dict[str, int]:
    """What nobody may receive twice, counted from the simulator's records: members who got the same DM
    text more than once, and members invited more than once."""
    sim = world.sim
    texts = Counter(
        (member.provider_id, msg.text) for msg in sim.sent_messages() for member in msg.recipients
    )
    invited = Counter(inv.member.provider_id for inv in sim.invitations())
    return {
        "duplicate_dms": sum(1 for n in texts.values() if n > 1),
        "duplicate_invitations": sum(1 for n in invited.values() if n > 1),
    }


# --- revOS against the simulated LinkedIn --------------------------------------------------------------------

SIM_API_KEY = "demo-sim-key"
# A minimal valid PDF, written in code: one page saying what it is.
_PDF_TEXT = b"BT /F1 18 Tf 72 720 Td (The revOS Growth Guide) Tj ET"

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
    pod_members: int = 9  # simulated members of the owner's engagement pod (0: no pod)


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


class DemoError(RuntimeError):
    """A set-up call failed: says which and what the API answered."""


def check(response: httpx.Response, what: str, *codes: int) -> dict[str, Any]:
    """The answer's body, or DemoError if its status is not one of `codes` (default 200, 201)."""
    if response.status_code not in (codes or (200, 201)):
        raise DemoError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


class _EmbeddedServer(uvicorn.Server):
    """Signals belong to the demo (Ctrl-C stops everything), not to its API server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


API_KEEPALIVE_SECONDS = 2.0


@contextlib.asynccontextmanager
async def _serve_api(runtime: Runtime, host: str, port: int) -> AsyncIterator[str]:

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
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Stage:
    """One run: revOS (runtime, API, workers) against the simulated LinkedIn `world`, with an ESP receiver
    and an HTTP client holding the demo client's API key. `ids` names what `set_up` created."""

    runtime: Runtime
    settings: Settings
    clock: DemoClock
    world: DemoWorld
    receiver: WebhookReceiver
    tenant: DemoTenant
    api_url: str
    api: httpx.AsyncClient
    ids: dict[str, UUID] = field(default_factory=dict)
    workers: list[tuple[QueueWorker, asyncio.Task[None]]] = field(default_factory=list)

    @property
    def sim(self) -> Simulator:
        return self.world.sim

    def start_worker(self, name: str) -> None:
        """A queue worker in this process, stopped when the stage closes."""

        worker = QueueWorker(self.runtime, settings=self.settings, name=name)
        self.workers.append((worker, asyncio.create_task(worker.run())))

    async def set_up(self, console: Console, before_publish: BeforePublish | None = None) -> dict[str, UUID]:
        """Everything a user does before the post goes out, through the API. Names carry the run's start
        time: the demo client keeps earlier runs, and names are unique within a client. `before_publish`
        (the ids so far, the run's name) runs just before the post is published."""
        self.ids.update(
            await _set_up(self.api, self.receiver, self.clock, console, self.tenant.user_id, before_publish)
        )
        return self.ids

    async def measure(self, clicked: set[str]) -> tuple[dict[str, int], dict[str, int]]:
        """The funnel read from the database, and the simulator's ground truth (`clicked`: the members who
        clicked their download link)."""
        async with self.runtime.db.raw() as conn:
            measured = await funnel_db.funnel(
                conn, campaign_id=self.ids["campaign"], post_id=self.ids["post"]
            )
        return measured, ground_truth(self.world, webhooks=len(self.receiver.leads), clicks=len(clicked))

    async def wind_down(self) -> None:
        """The run's account and campaign are retired, then the workers stop, while the simulator still
        answers: nothing polls a LinkedIn that is already gone."""
        if "account" in self.ids:
            await _retire(self.runtime, self.ids)
            self.ids.clear()
        workers, self.workers = self.workers, []
        for worker, _task in workers:
            worker.stop()
        for _worker, task in workers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 15)


@contextlib.asynccontextmanager
async def open_stage(settings: Settings, options: DemoOptions, clock: DemoClock) -> AsyncIterator[Stage]:
    """Install `clock`, open a runtime on `settings` (the database must be migrated), populate a simulator
    and serve it and the API on loopback. Closing the stage retires the run's account and campaign, stops
    the workers, closes everything and restores the process clock."""

    previous_clock = set_clock(clock)
    runtime = Runtime.build(settings)
    await runtime.open()
    receiver = await WebhookReceiver().start()
    # The same members and behaviour every run; ids of its own, so runs never collide in the database.
    sim = Simulator(api_key=SIM_API_KEY, seed=options.seed, clock=clock, id_seed=secrets.token_hex(8))
    world = build_world(sim, options.commenters, options.seed)
    try:
        tenant = await ensure_demo_tenant(runtime.db, runtime.jwt_secret)
        async with serve(sim, host="127.0.0.1", port=0) as sim_url:
            settings.unipile_dsn = sim_url
            async with _serve_api(runtime, options.host, options.port) as api_url:
                settings.public_base_url = api_url
                async with httpx.AsyncClient(
                    base_url=api_url,
                    headers={"X-API-Key": tenant.api_key},
                    timeout=30.0,
                    trust_env=False,
                    # Idle connections are dropped before the server's keep-alive (uvicorn: 5 s) ends: one
                    # reused at the moment the server closes it fails the request (httpx.ReadError).
                    limits=httpx.Limits(keepalive_expiry=API_KEEPALIVE_SECONDS),
                ) as api:
                    stage = Stage(runtime, settings, clock, world, receiver, tenant, api_url, api)
                    try:
                        yield stage
                    finally:
                        await stage.wind_down()
    finally:
        await receiver.stop()
        await close_linkedin_client(runtime)
        await runtime.close()
        set_clock(previous_clock)


async def _retire(runtime: Runtime, ids: dict[str, UUID]) -> None:
    """The simulated LinkedIn ends with the demo: complete the run's campaign and pause its account, so
    later runs and workers leave the run's leftovers alone (no polling of an account that is gone)."""

    with contextlib.suppress(Exception):
        async with runtime.db.service(actor="demo") as conn:
            await safety.pause(conn, ids["account"], "the demo's simulated LinkedIn stopped with the demo")
            if "campaign" in ids:
                await transition(conn, ids["campaign"], "completed")


async def _set_up(
    api: httpx.AsyncClient,
    receiver: WebhookReceiver,
    clock: DemoClock,
    console: Console,
    user_id: UUID,
    before_publish: BeforePublish | None,
) -> dict[str, UUID]:
    run = time.strftime("%Y-%m-%d %H:%M:%S")
    account = check(
        await api.post(
            "/v1/linkedin-accounts",
            json={
                "username": USERNAME,
                "password": PASSWORD,
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
        account = check(
            await api.post(
                f"/v1/linkedin-accounts/{account['id']}/checkpoint", json={"code": TWO_FACTOR_CODE}
            ),
            "solve the checkpoint",
        )
    clock.speed_up()  # from here on, an hour of LinkedIn time is a second (at the default speed)
    magnet = check(
        await api.post(
            "/v1/lead-magnets",
            data={"name": "The Growth Guide", "description": "the checklist we use to grow an audience"},
            files={"file": ("growth-guide.pdf", make_pdf(), "application/pdf")},
        ),
        "upload the lead magnet",
    )
    hook = check(
        await api.post(
            "/v1/webhooks/configs",
            json={"name": f"Demo ESP ({run})", "esp_type": "custom", "url": receiver.url},
        ),
        "create the webhook config",
    )
    receiver.secret = hook["secret"]
    campaign = check(
        await api.post(
            "/v1/campaigns",
            json={
                "name": f"Demo: The Growth Guide ({run})",
                "trigger_words": [TRIGGER],
                "lead_magnet_id": magnet["id"],
                "webhook_config_id": hook["id"],
                "post_template": (
                    "I wrote {{lead_magnet_name}}: everything we learned growing on LinkedIn. "
                    f"Comment {TRIGGER} below and I'll send it to you."
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
    check(await api.post(f"/v1/campaigns/{campaign['id']}/activate"), "activate the campaign")
    post_id = await demo_skills.draft_post(
        api, console, campaign_id=campaign["id"], account_id=account["id"], user_id=user_id, run=run
    )
    if before_publish is not None:
        await before_publish({"account": UUID(account["id"]), "campaign": UUID(campaign["id"])}, run)
    check(await api.post(f"/v1/posts/{post_id}/publish-now"), "publish the post", 200, 202)
    return {"account": UUID(account["id"]), "campaign": UUID(campaign["id"]), "post": post_id}
