"""The fault run: the demo's stage, the faults injected as it goes, and the audit at the end."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from rich.console import Console

from revos.clock import utcnow
from revos.config import Settings
from revos.demo import world as demo_world
from revos.demo.run import run_until_done
from revos.demo.world import ACCOUNT_SAFETY, DemoOptions, Stage, check, open_stage
from revos.runtime import Runtime
from revos.sim import FaultRule
from tests.e2e.faults.audit import FaultReport, audit, dms_sent
from tests.e2e.faults.clock import FaultClock, Hold
from tests.e2e.faults.plan import Chaos, FaultPlan, arm_first, fault_settings, rate_limits, standing_faults
from tests.e2e.faults.worker import WorkerProcess


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
    console = console or Console(stderr=True)
    clock = FaultClock(options.speed)
    # Nothing moves until the post is out: however long the set-up takes, the comments fall on the day
    # the run starts, early enough for their first DMs to fall due that day.
    clock.hold(Hold(clock.now()))
    settings = fault_settings(base_settings, options.speed)
    chaos = Chaos()
    started = time.monotonic()
    async with open_stage(settings, options, clock) as stage:
        child: WorkerProcess | None = None
        injecting: asyncio.Task[None] | None = None
        watching: asyncio.Task[None] | None = None
        try:
            ids = await stage.set_up(console)
            # No randomised gap: in the first day's last hour, at a minute a second, a gap of up to half a
            # minute per DM would only stretch the run.
            safety = ACCOUNT_SAFETY | {
                "cap_dm": plan.cap_dm,
                "cap_invitation": plan.cap_invitation,
                "gap_min_seconds": 0,
                "gap_max_seconds": 0,
            }
            account = check(
                await stage.api.patch(f"/v1/linkedin-accounts/{ids['account']}", json={"safety": safety}),
                "lower the account's daily caps",
            )
            tz = ZoneInfo(account["timezone"])
            capped_day = clock.now().astimezone(tz).date()
            for rule in standing_faults(plan):
                stage.sim.faults.add(rule)
            child = await WorkerProcess.start(
                settings, clock, name="revos-fault-worker-1", log_path=workdir / "worker-1.log"
            )
            chaos.note(f"worker process {child.proc.pid} running (worker {child.worker_id})")
            injecting = asyncio.create_task(_inject(plan, stage, child, chaos, clock, capped_day, tz))
            watching = asyncio.create_task(_watch_account(stage.runtime, ids["account"], chaos))
            finished, details = await run_until_done(stage, options, console)
            watching.cancel()
            await _drain_inbound(stage.runtime, stage.world, ids["account"], chaos)
            if injecting.done():
                injecting.result()  # a fault that could not be injected fails the run
            else:
                chaos.note("every lead was terminal before every fault was injected")
            measured, truth = await stage.measure(details["clicked"])
            report = await audit(stage.runtime, stage.world, ids, stage.receiver.leads, plan, chaos)
            fired: Counter[str] = Counter()
            for rule in stage.sim.faults.rules:
                label = f"error {rule.status}" if rule.kind == "error" else rule.kind
                fired[f"{label} after the action" if rule.after else label] += rule.hits
            details["receiver_rejected"] = stage.receiver.rejected
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


async def _watch_account(runtime: Runtime, account_id: UUID, chaos: Chaos) -> None:
    """Note each change of the account's state (status, pause) as the run goes."""

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


async def _release(clock: FaultClock, child: WorkerProcess, hold: Hold | None = None) -> None:
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
    clock: FaultClock,
    ids: dict[str, UUID],
    day: date,
    tz: ZoneInfo,
    chaos: Chaos,
) -> None:
    """Wait until `day`'s DM budget is spent: every DM of the day reserved, none still on its way (a send
    that fails at once gives its unit back, for another lead to use the same day), and a lead's first DM
    told to wait for the next day's budget."""

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
    stage: Stage,
    child: WorkerProcess,
    chaos: Chaos,
    clock: FaultClock,
    capped_day: date,
    tz: ZoneInfo,
) -> None:
    """The post out, the first day's budget spent, then 429s, the worker process killed mid-send, a second
    worker, then the account disconnected and reconnected."""

    world, runtime, api, ids, sim = stage.world, stage.runtime, stage.api, stage.ids, stage.sim
    try:
        await _post_is_out(plan, runtime, ids["post"], chaos)
        await _release(clock, child, hold=_last_hour(clock.now(), tz))
        chaos.note(f"[{utcnow():%d %H:%M}] the post is out: the clock runs")
        await _spend_first_day(plan, runtime, clock, ids, capped_day, tz, chaos)
    finally:
        await _release(clock, child)  # whatever happened, the run goes on
    arm_first(sim, FaultRule("rate_limit", route="POST /chats*", times=1))
    for rule in rate_limits(plan):
        sim.faults.add(rule)
    chaos.note("LinkedIn answers 429s from now on")

    kill_at = len(dms_sent(world)) + plan.kill_after_dms
    await _until(lambda: len(dms_sent(world)) >= kill_at, f"{kill_at} DMs")
    held = arm_first(
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
    stage.start_worker("revos-fault-worker-2")
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
    cut = arm_first(sim, FaultRule("disconnect", route="POST /chats*", times=1))
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
    account = check(
        await api.post(
            f"/v1/linkedin-accounts/{ids['account']}/reconnect", json={"li_at": world.login.access_token}
        ),
        "reconnect the account",
    )
    chaos.reconnected = account.get("status") == "active" and account.get("paused_at") is None
    chaos.note(f"account reconnected through the API: {account.get('status')}")
