"""The fault run: the demo's pipeline while LinkedIn misbehaves, a worker is killed and the account is
disconnected, then an audit of what every member received against what revOS recorded.

Faults, in order:
- for the whole run: 5xx on DM sends, invitations and reads, and timeouts after the action on
  `POST /chats*` (the message is sent; the caller only sees a 504);
- the first day: more first DMs fall due than the account's daily DM cap allows. The run's clock stands
  still through the set-up until the post is out (so every comment falls on that day); the day's last
  hour runs at a minute a second and the day does not end until its budget is spent, however slow the
  machine: the cap binds and the leads over it wait for a later day;
- then 429s, on sends and reads, for the rest of the run (the first one at once);
- the first worker is a separate process (`python -m revos.demo.faults`, on the run's clock): once some
  more DMs are out, a send is held open after LinkedIn recorded it, and the process gets SIGKILL while
  that action is in flight; a second worker starts and recovers the dead one's jobs as stalled;
- later, a send disconnects the account (LinkedIn answers 401 and sends its CREDENTIALS status webhook);
  after a while the account is reconnected through the API with its session cookie.

`audit()` then reads the simulator's records and the database: duplicates, sends revOS does not know
about (or knows about but LinkedIn does not), daily caps, leads held back by a cap that did not go out on
a later day, leads that are not terminal, captured leads the ESP never verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr
from rich.console import Console

from revos.actions import ledger
from revos.clock import set_clock
from revos.config import Settings
from revos.demo import funnel as funnel_db
from revos.demo import world as demo_world
from revos.demo.run import (
    ACCOUNT_SAFETY,
    SIM_API_KEY,
    DemoClock,
    DemoOptions,
    WebhookReceiver,
    _check,
    _retire,
    _run_until_done,
    _serve_api,
    _set_up,
    demo_settings,
)
from revos.runtime import Runtime
from revos.sim import FaultRule, Simulator, serve
from revos.tenancy.bootstrap import ensure_demo_tenant

SEND_ROUTES = ("POST /chats*", "POST /users/invite")
READ_ROUTES = ("GET /chats*", "GET /users/*", "GET /messages*", "GET /posts/*")


@dataclass
class FaultPlan:
    """What goes wrong, and when (in DMs LinkedIn has received), and the account's daily caps."""

    rate_limit: float = 0.03  # probability of a 429 on each send and read, once the first day is spent
    server_error: float = 0.05  # probability of a 500/503 on each send and read
    timeout_after: float = 0.12  # probability that a DM send times out after LinkedIn recorded it
    kill_after_dms: int = 8  # DMs out after the first day's budget, before the worker is killed mid-send
    disconnect_after_dms: int = 30  # DMs out after the kill, before a send disconnects the account
    disconnected_seconds: float = 1.5  # wall seconds the account stays disconnected
    hang_seconds: float = 4.0  # how long the send the worker dies in is held open
    # Below the first DMs that fall due on the first day (the demo's world of 80 commenters has 48
    # connected commenters who use the trigger word): that day's budget is spent, whatever the machine.
    cap_dm: int = 40
    cap_invitation: int = 20
    hold_limit: float = 180.0  # wall seconds the clock may be held back for the post, then for the budget


def fault_settings(base: Settings, speed: float) -> Settings:
    """The demo's settings, plus what a fault run needs in wall seconds: stalled workers found within a
    few seconds, and an in-flight action presumed crashed after longer than any call can take."""
    wall = speed
    return demo_settings(base, speed).model_copy(
        update={
            "worker_heartbeat_seconds": 0.5,
            "stalled_after_seconds": 3.0,
            "cron_recover_stalled_jobs": "* * * * * *",
            "unipile_timeout_seconds": 6.0,
            "action_inflight_timeout_seconds": 8 * wall,
            # A dead worker's claims (a poll, a delivery) are taken over after seconds, not a minute.
            "poll_lease_seconds": 10 * wall,
            "post_publish_lease_seconds": 10 * wall,
            "webhook_claim_lease_seconds": int(12 * wall),
        }
    )


def standing_faults(plan: FaultPlan) -> list[FaultRule]:
    """The run's faults from the start: 5xx everywhere, timeouts after a DM was sent."""
    rules = [FaultRule("timeout", route="POST /chats*", probability=plan.timeout_after, after=True)]
    for route in (*SEND_ROUTES, *READ_ROUTES):
        rules.append(FaultRule("error", route=route, probability=plan.server_error / 2, status=500))
        rules.append(FaultRule("error", route=route, probability=plan.server_error / 2, status=503))
    return rules


def rate_limits(plan: FaultPlan) -> list[FaultRule]:
    """429s, from the end of the first day on. A 429 pauses the account for an hour of its clock or more;
    on the first day, one could carry the account past the day's end, and the day's budget could then
    never be spent."""
    return [
        FaultRule("rate_limit", route=route, probability=plan.rate_limit)
        for route in (*SEND_ROUTES, *READ_ROUTES)
    ]


def _arm_first(sim: Simulator, rule: FaultRule) -> FaultRule:
    """Add `rule` ahead of the standing ones, so it is the one that answers when several fire."""
    standing = list(sim.faults.rules)
    sim.faults.clear()
    sim.faults.add(rule)
    for other in standing:
        sim.faults.add(other)
    return rule


@dataclass(frozen=True)
class Hold:
    """From `at` on, the clock runs at `speed` (clock seconds per wall second; 0: it stands still), never
    past `until` (default: `at`)."""

    at: datetime
    speed: float = 0.0
    until: datetime | None = None

    @property
    def limit(self) -> datetime:
        return self.until or self.at

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "speed": self.speed, "until": self.limit.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hold:
        return cls(
            datetime.fromisoformat(data["at"]), float(data["speed"]), datetime.fromisoformat(data["until"])
        )


class _FaultClock(DemoClock):
    """The demo's clock, starting at 07:00 UTC tomorrow: the run's days (and so where the daily caps
    bite) fall the same way whatever the hour it runs at.

    It can be held back (`hold`): from an instant on it runs slower, or stands still, and never passes a
    limit, until `release()`; then it runs on at full speed from where it stands, without a jump. While
    it runs slower, `factor` is that speed, so wall delays computed from it (the queue's schedules) hold."""

    def __init__(self, speed: float, *, start: datetime | None = None) -> None:
        super().__init__(speed)
        tomorrow = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
        self._origin = start or tomorrow
        self.held: Hold | None = None

    @property
    def factor(self) -> float:
        held, wall = self.held, time.monotonic()
        if (
            held is not None
            and held.speed > 0
            and self._unheld(wall) > held.at
            and self._at(wall) < held.limit
        ):
            return held.speed
        return self._factor

    @factor.setter
    def factor(self, value: float) -> None:
        self._factor = value

    @property
    def held_at(self) -> datetime | None:
        return self.held.at if self.held is not None else None

    def _unheld(self, wall: float) -> datetime:
        return self._origin + timedelta(seconds=(wall - self._origin_wall) * self._factor)

    def _at(self, wall: float) -> datetime:
        """The clock's reading at monotonic instant `wall`."""
        unheld, held = self._unheld(wall), self.held
        if held is None or unheld <= held.at:
            return unheld
        since = (unheld - held.at).total_seconds() / self._factor  # wall seconds since it reached `at`
        return min(held.at + timedelta(seconds=since * held.speed), held.limit)

    def now(self) -> datetime:
        return self._at(time.monotonic())

    def hold(self, held: Hold) -> None:
        self.held = held

    def release(self, wall: float | None = None) -> None:
        """Run on at full speed from the reading at `wall` (`time.time()`, default now): the worker
        process's copy hears of the run's release a little later, and catches up."""
        behind = 0.0 if wall is None else max(0.0, time.time() - wall)
        at = time.monotonic() - behind
        self._origin, self._origin_wall = self._at(at), at
        self.held = None


# --- the first worker: a process of its own, on the run's clock ------------------------------------------


def _plain(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
    return data


class WorkerProcess:
    """`python -m revos.demo.faults`: a QueueWorker in a process of its own. Its settings and the run's
    clock (the clock time at a wall instant, the speed, and how it is held back) go over
    stdin as one line; later lines release its clock when the run's is released. It prints its worker id
    once it is fetching jobs."""

    def __init__(self, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self.worker_id: int | None = None

    @classmethod
    async def start(
        cls, settings: Settings, clock: _FaultClock, *, name: str, log_path: Path, wait: float = 60.0
    ) -> WorkerProcess:
        config = {
            "settings": _plain(settings),
            "clock_now": clock.now().isoformat(),
            "wall": time.time(),
            "speed": clock.speed,
            "held": clock.held.to_json() if clock.held is not None else None,
            "name": name,
        }
        with log_path.open("ab") as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "revos.demo.faults",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
            )
        child = cls(proc, log_path)
        assert proc.stdout is not None
        await child._send(config)
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), wait)
        except TimeoutError:
            child.kill()
            raise RuntimeError(f"the worker process did not start: see {log_path}") from None
        if not line.startswith(b"running "):
            child.kill()
            raise RuntimeError(f"the worker process did not start ({line!r}): see {log_path}")
        child.worker_id = int(line.split()[1])
        return child

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        await self.proc.stdin.drain()

    async def release_clock(self, wall: float, hold: Hold | None) -> None:
        """The run's clock runs on since `wall` (time.time()), held back by `hold` if given: so does this
        process's."""
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError):
                await self._send({"release": wall, "hold": hold.to_json() if hold else None})

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last heartbeat, its jobs stay 'doing'."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        return await self.proc.wait()


def _child_main() -> None:
    config = json.loads(sys.stdin.readline())
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings(**config["settings"])
    speed = float(config["speed"])
    now = datetime.fromisoformat(config["clock_now"]) + timedelta(
        seconds=(time.time() - float(config["wall"])) * speed
    )
    clock = _FaultClock(speed, start=now)
    clock.speed_up()
    if config.get("held"):
        clock.hold(Hold.from_json(config["held"]))
    set_clock(clock)

    async def main() -> None:
        from revos.queue.worker import QueueWorker

        loop = asyncio.get_running_loop()

        def release(wall: float, hold: dict[str, Any] | None) -> None:
            clock.release(wall)
            if hold:
                clock.hold(Hold.from_json(hold))

        def listen() -> None:
            # A thread: the clock is released on the loop, between two readings of it.
            for line in sys.stdin:
                message = json.loads(line)
                if "release" in message:
                    loop.call_soon_threadsafe(release, float(message["release"]), message.get("hold"))

        threading.Thread(target=listen, name="revos-fault-clock", daemon=True).start()
        runtime = Runtime.build(settings)
        await runtime.open()
        worker = QueueWorker(runtime, settings=settings, name=str(config["name"]))
        task = asyncio.create_task(worker.run())
        worker_id = await worker.wait_running()
        sys.stdout.write(f"running {worker_id}\n")
        sys.stdout.flush()
        await task

    asyncio.run(main())


# --- the run -------------------------------------------------------------------------------------------------


@dataclass
class Chaos:
    """What the injected faults did, as they happened."""

    events: list[str] = field(default_factory=list)
    killed_in_flight: list[str] = field(default_factory=list)  # ledger keys in flight when the worker died
    stalled_jobs: list[int] = field(default_factory=list)  # the dead worker's running jobs
    recovered_after: float | None = None  # wall seconds until no job was left running for the dead worker
    disconnected: bool = False
    reconnected: bool = False
    held_for: float | None = None  # wall seconds the first day's last hour lasted
    _started: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self._started:6.1f}s {what}")


@dataclass
class FaultRun:
    funnel: dict[str, int]
    ground_truth: dict[str, int]
    finished: bool  # every lead terminal before the timeout
    elapsed: float
    report: FaultReport
    chaos: Chaos
    faults_fired: dict[str, int]
    capped_day: date | None = None  # the account-local day whose whole DM budget the run spends
    details: dict[str, Any] = field(default_factory=dict)


async def run_faults(
    base_settings: Settings,
    options: DemoOptions,
    plan: FaultPlan,
    *,
    workdir: Path,
    console: Console | None = None,
) -> FaultRun:
    """The demo's pipeline under `plan`'s faults; the database must be migrated. The first worker's log
    goes to `workdir`. Restores the process clock afterwards."""
    from revos.accounts.provider import close_linkedin_client
    from revos.queue.worker import QueueWorker

    console = console or Console(stderr=True)
    clock = _FaultClock(options.speed)
    # Nothing moves until the post is out: however long the set-up takes, the comments fall on the day
    # the run starts, early enough for their first DMs to fall due that day.
    clock.hold(Hold(clock.now()))
    previous_clock = set_clock(clock)
    settings = fault_settings(base_settings, options.speed)
    runtime = Runtime.build(settings)
    await runtime.open()
    receiver = await WebhookReceiver().start()
    sim = Simulator(api_key=SIM_API_KEY, seed=options.seed, clock=clock, id_seed=secrets.token_hex(8))
    world = demo_world.build_world(sim, options.commenters, options.seed)
    ids: dict[str, UUID] = {}
    chaos = Chaos()
    started = time.monotonic()
    child: WorkerProcess | None = None
    workers: list[tuple[QueueWorker, asyncio.Task[None]]] = []
    injecting: asyncio.Task[None] | None = None
    watching: asyncio.Task[None] | None = None

    def start_second_worker() -> None:
        worker = QueueWorker(runtime, settings=settings, name="revos-fault-worker-2")
        workers.append((worker, asyncio.create_task(worker.run())))

    try:
        tenant = await ensure_demo_tenant(runtime.db, runtime.jwt_secret)
        async with serve(sim, host="127.0.0.1", port=0) as sim_url:
            settings.unipile_dsn = sim_url
            async with _serve_api(runtime, options.host, options.port) as (api_url, _server):
                settings.public_base_url = api_url
                async with httpx.AsyncClient(
                    base_url=api_url, headers={"X-API-Key": tenant.api_key}, timeout=30.0, trust_env=False
                ) as api:
                    ids.update(await _set_up(api, receiver, console))
                    # No randomised gap: in the first day's last hour, at a minute a second, a gap of up
                    # to half a minute per DM would only stretch the run.
                    safety = ACCOUNT_SAFETY | {
                        "cap_dm": plan.cap_dm,
                        "cap_invitation": plan.cap_invitation,
                        "gap_min_seconds": 0,
                        "gap_max_seconds": 0,
                    }
                    account = _check(
                        await api.patch(f"/v1/linkedin-accounts/{ids['account']}", json={"safety": safety}),
                        "lower the account's daily caps",
                    )
                    tz = ZoneInfo(account["timezone"])
                    capped_day = clock.now().astimezone(tz).date()
                    for rule in standing_faults(plan):
                        sim.faults.add(rule)
                    child = await WorkerProcess.start(
                        settings, clock, name="revos-fault-worker-1", log_path=workdir / "worker-1.log"
                    )
                    chaos.note(f"worker process {child.proc.pid} running (worker {child.worker_id})")
                    injecting = asyncio.create_task(
                        _inject(
                            plan,
                            world,
                            runtime,
                            api,
                            ids,
                            child,
                            start_second_worker,
                            chaos,
                            clock,
                            capped_day,
                            tz,
                        )
                    )
                    watching = asyncio.create_task(_watch_account(runtime, ids["account"], chaos))
                    finished, details = await _run_until_done(
                        api, runtime, world, receiver, ids, options, console
                    )
                    watching.cancel()
                    await _drain_inbound(runtime, world, ids["account"], chaos)
                    if injecting.done():
                        injecting.result()  # a fault that could not be injected fails the run
                    else:
                        chaos.note("every lead was terminal before every fault was injected")
                    async with runtime.db.raw() as conn:
                        measured = await funnel_db.funnel(
                            conn, campaign_id=ids["campaign"], post_id=ids["post"]
                        )
                    truth = demo_world.ground_truth(
                        world, webhooks=len(receiver.leads), clicks=len(details["clicked"])
                    )
                    report = await audit(runtime, world, ids, receiver.leads, plan, chaos)
                    fired: Counter[str] = Counter()
                    for rule in sim.faults.rules:
                        label = f"error {rule.status}" if rule.kind == "error" else rule.kind
                        fired[f"{label} after the action" if rule.after else label] += rule.hits
                    details["receiver_rejected"] = receiver.rejected
                    elapsed = time.monotonic() - started
                    return FaultRun(
                        measured, truth, finished, elapsed, report, chaos, dict(fired), capped_day, details
                    )
    finally:
        for side in (injecting, watching):
            if side is not None and not side.done():
                side.cancel()
                with contextlib.suppress(BaseException):
                    await side
        if child is not None:
            child.kill()
            await child.wait()
        if "account" in ids:
            await _retire(runtime, ids)
        for worker, task in workers:
            worker.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 15)
        await receiver.stop()
        await close_linkedin_client(runtime)
        await runtime.close()
        set_clock(previous_clock)


async def _watch_account(runtime: Runtime, account_id: UUID, chaos: Chaos) -> None:
    """Note each change of the account's state (status, pause) as the run goes."""
    from revos.clock import utcnow

    last = None
    while True:
        async with runtime.db.raw() as conn:
            row = await (
                await conn.execute(
                    "select status, pause_source, paused_until, pause_reason from linkedin_accounts where id = %s",
                    (account_id,),
                )
            ).fetchone()
        state = (row["status"], row["pause_source"], row["paused_until"]) if row else None
        if row is not None and state != last:
            chaos.note(
                f"[{utcnow():%d %H:%M}] account {row['status']}: {row['pause_reason'] or 'not paused'}"
            )
            last = state
        await asyncio.sleep(0.1)


async def _drain_inbound(
    runtime: Runtime, world: demo_world.DemoWorld, account_id: UUID, chaos: Chaos
) -> None:
    """Webhooks LinkedIn is still delivering, and events revOS has not processed yet, land before the
    audit: a message sent just before the last lead turned terminal is then on record too."""
    await world.sim.webhooks.wait_idle(30.0)

    async def drained() -> bool:
        async with runtime.db.raw() as conn:
            row = await (
                await conn.execute(
                    "select count(*) as n from inbound_events where linkedin_account_id = %s and processed_at is null",
                    (account_id,),
                )
            ).fetchone()
        return row is not None and row["n"] == 0

    try:
        await _until(drained, "the inbox to drain", limit=60.0)
    except TimeoutError:
        chaos.note("inbound events were still unprocessed at the audit")


async def _until(check: Callable[[], Awaitable[bool] | bool], what: str, limit: float = 300.0) -> None:
    """Poll `check` until it holds; `limit` (wall seconds) only bounds a run that stopped making progress."""
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"fault run: gave up waiting for {what}")
        await asyncio.sleep(0.1)


def _last_hour(now: datetime, tz: ZoneInfo) -> Hold:
    """The last hour of the account-local day of `now` at a minute a second, and never its last second:
    the day ends only once its budget is spent. Not a standstill: what falls due a few minutes later
    (a first DM a few minutes after the comment that is found then, a retry) still comes that day, and
    what waits for the next day is looked at again once, not in a loop."""
    local = now.astimezone(tz)
    at = local.replace(hour=23, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    end = at + timedelta(hours=1) - timedelta(seconds=1)
    return Hold(at.astimezone(UTC), 60.0, end.astimezone(UTC))


DAY_BUDGET_SQL = """
select
  coalesce((select used from account_daily_usage
    where linkedin_account_id = %(account)s and day = %(day)s and kind = 'dm'), 0) as used,
  (select count(*) from linkedin_actions
    where linkedin_account_id = %(account)s and kind = 'dm' and status = 'in_flight'
      and reserved_day = %(day)s) as in_flight,
  (select count(*) from lead_events e join leads l on l.id = e.lead_id
    where l.campaign_id = %(campaign)s and e.kind = 'waiting'
      and e.reason like 'waiting: daily dm cap reached%%' and (e.data ->> 'until')::timestamptz >= %(next_day)s
      and e.occurred_at < %(next_day)s
      and not exists (select 1 from lead_events d
        where d.lead_id = e.lead_id and d.kind = 'dm_sent' and d.occurred_at < e.occurred_at)) as refused
"""


async def _release(clock: _FaultClock, child: WorkerProcess, hold: Hold | None = None) -> None:
    """Let the run's clock (and the worker process's) run on, held back by `hold` if given."""
    wall = time.time()
    clock.release(wall)
    if hold is not None:
        clock.hold(hold)
    await child.release_clock(wall, hold)


async def _post_is_out(plan: FaultPlan, runtime: Runtime, post_id: UUID, chaos: Chaos) -> None:
    async def published() -> bool:
        async with runtime.db.raw() as conn:
            row = await (await conn.execute("select status from posts where id = %s", (post_id,))).fetchone()
        return row is not None and row["status"] == "published"

    try:
        await _until(published, "the post to be published", limit=plan.hold_limit)
    except TimeoutError:
        chaos.note(f"gave up holding the clock for the post after {plan.hold_limit:g} s")


async def _spend_first_day(
    plan: FaultPlan,
    runtime: Runtime,
    clock: _FaultClock,
    ids: dict[str, UUID],
    day: date,
    tz: ZoneInfo,
    chaos: Chaos,
) -> None:
    """Wait until `day`'s DM budget is spent: every DM of the day reserved, none still on its way (a send
    that fails at once gives its unit back, for another lead to use the same day), and a lead's first DM
    told to wait for the next day's budget."""
    from revos.clock import utcnow

    held_at = clock.held_at
    assert held_at is not None
    next_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
    params = {"account": ids["account"], "campaign": ids["campaign"], "day": day, "next_day": next_day}
    held_since: float | None = None
    used = refused = 0

    async def spent() -> bool:
        nonlocal held_since, used, refused
        async with runtime.db.raw() as conn:
            row = await (await conn.execute(DAY_BUDGET_SQL, params)).fetchone()
        assert row is not None
        used, refused = int(row["used"]), int(row["refused"])
        if held_since is None and utcnow() >= held_at:
            held_since = time.monotonic()
            chaos.note(
                f"[{held_at:%d %H:%M}] the clock slows down until the day's DM budget is spent"
                f" ({used} of {plan.cap_dm} used)"
            )
        return used >= plan.cap_dm and row["in_flight"] == 0 and refused > 0

    try:
        await _until(spent, "the first day's DM budget to be spent", limit=plan.hold_limit)
    except TimeoutError:
        chaos.note(f"gave up holding the clock after {plan.hold_limit:g} s: {used} of {plan.cap_dm} DMs")
    chaos.held_for = 0.0 if held_since is None else time.monotonic() - held_since
    chaos.note(
        f"[{utcnow():%d %H:%M}] the day's DM budget is spent ({used} of {plan.cap_dm}; {refused} first DM(s)"
        " told to wait for the next day's); the clock runs on"
    )


async def _inject(
    plan: FaultPlan,
    world: demo_world.DemoWorld,
    runtime: Runtime,
    api: httpx.AsyncClient,
    ids: dict[str, UUID],
    child: WorkerProcess,
    start_second_worker: Callable[[], None],
    chaos: Chaos,
    clock: _FaultClock,
    capped_day: date,
    tz: ZoneInfo,
) -> None:
    """The post out, the first day's budget spent, then 429s, the worker process killed mid-send, a second
    worker, then the account disconnected and reconnected."""
    from revos.clock import utcnow

    sim = world.sim
    try:
        await _post_is_out(plan, runtime, ids["post"], chaos)
        await _release(clock, child, hold=_last_hour(clock.now(), tz))
        chaos.note(f"[{utcnow():%d %H:%M}] the post is out: the clock runs")
        await _spend_first_day(plan, runtime, clock, ids, capped_day, tz, chaos)
    finally:
        await _release(clock, child)  # whatever happened, the run goes on
    _arm_first(sim, FaultRule("rate_limit", route="POST /chats*", times=1))
    for rule in rate_limits(plan):
        sim.faults.add(rule)
    chaos.note("LinkedIn answers 429s from now on")

    kill_at = len(dms_sent(world)) + plan.kill_after_dms
    await _until(lambda: len(dms_sent(world)) >= kill_at, f"{kill_at} DMs")
    held = _arm_first(
        sim,
        FaultRule(
            "timeout", route="POST /chats*", after=True, hang=True, hang_seconds=plan.hang_seconds, times=1
        ),
    )
    await _until(lambda: held.hits >= 1, "a send to hold open")
    async with runtime.db.raw() as conn:
        in_flight = await (
            await conn.execute(
                "select action_key from linkedin_actions where linkedin_account_id = %s"
                " and status = 'in_flight'",
                (ids["account"],),
            )
        ).fetchall()
        running = await (
            await conn.execute(
                "select id from procrastinate.procrastinate_jobs where worker_id = %s and status = 'doing'",
                (child.worker_id,),
            )
        ).fetchall()
    child.kill()
    await child.wait()
    chaos.killed_in_flight = [r["action_key"] for r in in_flight]
    chaos.stalled_jobs = [r["id"] for r in running]
    chaos.note(
        f"worker process killed (SIGKILL) running jobs {chaos.stalled_jobs}, with {chaos.killed_in_flight}"
        " in flight (LinkedIn had recorded the message)"
    )
    killed_at = time.monotonic()
    start_second_worker()
    chaos.note("second worker started")

    async def recovered() -> bool:
        async with runtime.db.raw() as conn:
            row = await (
                await conn.execute(
                    "select count(*) as n from procrastinate.procrastinate_jobs"
                    " where id = any(%s) and status = 'doing'",
                    (chaos.stalled_jobs,),
                )
            ).fetchone()
        return row is not None and row["n"] == 0

    await _until(recovered, "the dead worker's jobs to be recovered")
    chaos.recovered_after = time.monotonic() - killed_at
    chaos.note(f"the dead worker's jobs recovered {chaos.recovered_after:.1f} s after the kill")

    disconnect_at = len(dms_sent(world)) + plan.disconnect_after_dms
    await _until(lambda: len(dms_sent(world)) >= disconnect_at, f"{disconnect_at} DMs")
    cut = _arm_first(sim, FaultRule("disconnect", route="POST /chats*", times=1))
    await _until(lambda: cut.hits >= 1, "a send to disconnect the account")
    chaos.disconnected = sim.account(world.login.account_id or "").status == "CREDENTIALS"
    chaos.note("LinkedIn disconnected the account (credentials expired)")

    async def paused() -> bool:
        async with runtime.db.raw() as conn:
            row = await (
                await conn.execute(
                    "select pause_source from linkedin_accounts where id = %s", (ids["account"],)
                )
            ).fetchone()
        return row is not None and row["pause_source"] == "disconnected"

    await _until(paused, "revOS to pause the disconnected account")
    chaos.note("revOS paused the account as disconnected")
    await asyncio.sleep(plan.disconnected_seconds)
    account = _check(
        await api.post(
            f"/v1/linkedin-accounts/{ids['account']}/reconnect", json={"li_at": world.login.access_token}
        ),
        "reconnect the account",
    )
    chaos.reconnected = account.get("status") == "active" and account.get("paused_at") is None
    chaos.note(f"account reconnected through the API: {account.get('status')}")


# --- the audit -----------------------------------------------------------------------------------------------


def _notes(world: demo_world.DemoWorld) -> dict[str, set[str]]:
    notes: dict[str, set[str]] = {}
    for inv in world.sim.invitations():
        if inv.message:
            notes.setdefault(inv.member.provider_id, set()).add(inv.message)
    return notes


@dataclass(frozen=True)
class SentDM:
    member: str  # provider id
    message_id: str
    text: str
    at: datetime


def dms_sent(world: demo_world.DemoWorld) -> list[SentDM]:
    """Every DM the account sent, as LinkedIn recorded it; invitation notes left out (LinkedIn shows an
    accepted invitation's note as the chat's first message, but it was sent as an invitation)."""
    notes = _notes(world)
    return [
        SentDM(member.provider_id, msg.id, msg.text or "", msg.created_at)
        for msg in world.sim.sent_messages()
        for member in msg.recipients
        if msg.text not in notes.get(member.provider_id, set())
    ]


@dataclass
class FaultReport:
    """Each list names what went wrong (empty: nothing did); `figures` are the run's counts."""

    duplicate_dms: list[str] = field(default_factory=list)  # a member got the same text twice
    duplicate_invitations: list[str] = field(default_factory=list)
    repeated_steps: list[str] = field(default_factory=list)  # a sequence step's text arrived twice
    unconfirmed_sends: list[str] = field(default_factory=list)  # on LinkedIn, not confirmed in the ledger
    phantom_sends: list[str] = field(default_factory=list)  # confirmed, but LinkedIn has no such thing
    unrecorded_messages: list[str] = field(default_factory=list)  # missing from the lead's conversation
    cap_violations: list[str] = field(default_factory=list)
    # the timeline says the first DM waited for the day's DM cap, yet it did not go out on a later day
    held_not_sent_later: list[str] = field(default_factory=list)
    not_terminal: list[str] = field(default_factory=list)
    lost_leads: list[str] = field(default_factory=list)  # email captured, never verified at the ESP
    unsettled_after_crash: list[str] = field(default_factory=list)  # in flight at the kill, not done now
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def problems(self) -> dict[str, list[str]]:
        return {name: value for name, value in vars(self).items() if isinstance(value, list) and value}


STEPS_SQL = """
select s.id, l.linkedin_id, s.step1_message, s.step2_message, s.step3_message
from dm_sequences s join leads l on l.id = s.lead_id where s.campaign_id = %s
"""
CONVERSATIONS_SQL = """
select m.unipile_message_id from dm_messages m join dm_sequences s on s.id = m.dm_sequence_id
where s.campaign_id = %s and m.direction = 'outbound'
"""
ACTIONS_SQL = """
select action_key, kind, status, target, payload, provider_id, reserved_day, last_error from linkedin_actions
where linkedin_account_id = %s and kind in ('dm', 'invitation')
"""
_TEXT = {"dm": "text", "invitation": "message"}  # where an action's payload keeps what was sent
USAGE_SQL = (
    "select day, kind, used from account_daily_usage where linkedin_account_id = %s order by day, kind"
)
EMAIL_LEADS_SQL = "select id from leads where campaign_id = %s and email is not null"
# Leads whose timeline says their first DM waited for the account's daily DM cap: until when (the next
# day's budget, as the wait says) and when their first DM went out (account-local days).
HELD_BY_CAP_SQL = """
select l.linkedin_id, w.reason, w.until, (w.until at time zone a.timezone)::date as until_day,
  d.at as sent_at, (d.at at time zone a.timezone)::date as sent_day
from leads l
join dm_sequences s on s.lead_id = l.id
join linkedin_accounts a on a.id = s.linkedin_account_id
left join lateral (
  select min(occurred_at) as at from lead_events where lead_id = l.id and kind = 'dm_sent'
) d on true
join lateral (
  select reason, (data ->> 'until')::timestamptz as until from lead_events
  where lead_id = l.id and kind = 'waiting' and reason like 'waiting: daily dm cap reached%%'
    and (d.at is null or occurred_at < d.at)
  order by occurred_at limit 1
) w on true
where l.campaign_id = %s
order by w.until, l.linkedin_id
"""


async def audit(
    runtime: Runtime,
    world: demo_world.DemoWorld,
    ids: dict[str, UUID],
    verified_leads: set[str],
    plan: FaultPlan,
    chaos: Chaos,
) -> FaultReport:
    """What every member received (the simulator's records) against what revOS recorded."""
    report = FaultReport()
    sim = world.sim
    sent = dms_sent(world)
    invitations = sim.invitations()
    async with runtime.db.service(actor="demo") as conn:

        async def rows(query: str, key: str) -> list[dict[str, Any]]:
            return await (await conn.execute(query, (ids[key],))).fetchall()

        steps = await rows(STEPS_SQL, "campaign")
        conversations = {r["unipile_message_id"] for r in await rows(CONVERSATIONS_SQL, "campaign")}
        actions = await rows(ACTIONS_SQL, "account")
        confirmed = [a for a in actions if a["status"] == "done"]
        usage = await rows(USAGE_SQL, "account")
        emails = {str(r["id"]) for r in await rows(EMAIL_LEADS_SQL, "campaign")}
        held = await rows(HELD_BY_CAP_SQL, "campaign")
        for key in chaos.killed_in_flight:
            action = await ledger.get_by_key(conn, key)
            if action is None or action.status != "done":
                report.unsettled_after_crash.append(f"{key}: {action.status if action else 'missing'}")
        progress = await funnel_db.progress(conn, campaign_id=ids["campaign"])
        if progress.terminal < progress.leads:
            report.not_terminal = await funnel_db.stuck(conn, campaign_id=ids["campaign"])

    texts = Counter((dm.member, dm.text) for dm in sent)
    report.duplicate_dms = [f"{m}: {t!r} x{n}" for (m, t), n in texts.items() if n > 1]
    invited = Counter(inv.member.provider_id for inv in invitations)
    report.duplicate_invitations = [f"{m} x{n}" for m, n in invited.items() if n > 1]
    for row in steps:
        for step in (1, 2, 3):
            text = row[f"step{step}_message"]
            if text and texts[(row["linkedin_id"], text)] != 1:
                got = texts[(row["linkedin_id"], text)]
                report.repeated_steps.append(f"sequence {row['id']} step {step}: received {got} times")

    # Every DM and invitation on LinkedIn is one the ledger confirmed with its id, and the other way round.
    reserved = {(r["kind"], r["provider_id"]): r["reserved_day"] for r in confirmed}
    on_linkedin = {("dm", dm.message_id) for dm in sent} | {("invitation", inv.id) for inv in invitations}
    by_id = {("dm", dm.message_id): (dm.member, dm.text) for dm in sent} | {
        ("invitation", inv.id): (inv.member.provider_id, inv.message or "") for inv in invitations
    }
    for kind, pid in sorted(on_linkedin - set(reserved)):
        member, text = by_id[(kind, pid)]
        ledger_rows = [
            f"{a['action_key']} {a['status']} ({a['last_error']})"
            for a in actions
            if a["kind"] == kind and a["target"] == member and (a["payload"] or {}).get(_TEXT[kind]) == text
        ]
        report.unconfirmed_sends.append(f"{kind} {pid} to {member} {text[:40]!r}: ledger {ledger_rows}")
    report.phantom_sends = sorted(f"{kind} {pid}" for kind, pid in set(reserved) - on_linkedin)
    for msg in sim.sent_messages():
        if msg.id not in conversations:
            member = ", ".join(m.provider_id for m in msg.recipients)
            ledger_rows = [
                f"{a['action_key']} {a['status']} {a['provider_id']}"
                for a in actions
                if a["target"] in member
                and a["kind"] == "dm"
                and (a["payload"] or {}).get("text") == msg.text
            ]
            report.unrecorded_messages.append(
                f"{msg.id} to {member} at {msg.created_at:%d %H:%M:%S} {(msg.text or '')[:40]!r}: ledger {ledger_rows}"
            )

    # Daily caps: the budget revOS counted, and what LinkedIn received, each message on the day whose
    # budget it used (a send reserved just before midnight may reach LinkedIn just after it).
    caps = {"dm": plan.cap_dm, "invitation": plan.cap_invitation}
    for row in usage:
        cap = caps.get(row["kind"])
        if cap is not None and row["used"] > cap:
            report.cap_violations.append(f"{row['day']} {row['kind']}: used {row['used']} > cap {cap}")
    received: Counter[tuple[str, date | None]] = Counter()
    for kind, pid in on_linkedin:
        received[(kind, reserved.get((kind, pid)))] += 1
    for (kind, day), n in sorted(received.items(), key=str):
        if day is not None and n > caps[kind]:
            report.cap_violations.append(
                f"LinkedIn received {n} {kind}s on the budget of {day} > cap {caps[kind]}"
            )
    report.lost_leads = sorted(emails - verified_leads)
    report.held_not_sent_later = [
        f"{r['linkedin_id']}: {r['reason']!r} until {r['until']}, first DM at {r['sent_at']}"
        for r in held
        if r["until"] is None or r["sent_at"] is None or r["sent_at"] < r["until"]
    ]
    by_calendar = Counter(("dm", dm.at.date()) for dm in sent) + Counter(
        ("invitation", inv.created_at.date()) for inv in invitations
    )
    report.figures = {
        "dms_sent": len(sent),
        "invitations_sent": len(invitations),
        "leads": progress.leads,
        "terminal": progress.terminal,
        "emails": len(emails),
        "verified_at_esp": len(verified_leads),
        "budget_used": {f"{r['day']} {r['kind']}": r["used"] for r in usage if r["kind"] in caps},
        # "day whose budget they waited for: day their first DM went out" -> leads
        "held_by_dm_cap": dict(Counter(f"{r['until_day']}: {r['sent_day']}" for r in held)),
        "linkedin_by_budget_day": {f"{d} {k}": n for (k, d), n in sorted(received.items(), key=str)},
        "linkedin_by_calendar_day": {f"{d} {k}": n for (k, d), n in sorted(by_calendar.items(), key=str)},
    }
    return report


if __name__ == "__main__":
    _child_main()
