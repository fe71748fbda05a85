"""An account's DM run, the periodic dispatch that starts runs, and the executor's reactions to other
domains' events (wired in `revos.events`).

DM work runs per LinkedIn account: `run_account` takes the account's due sequences in due order (a batch
at a time) and sends their steps a lane at a time (`dm_lane_size` sequences, revos.dms.lane), the steps a
lane cannot take one at a time after it (revos.dms.executor), until nothing is due, the account has to
wait (checked at the start of each lane and step, in its own transaction), or the run has used
`dm_account_run_seconds`; then it queues its successor for the account's next due moment.
"""

from __future__ import annotations

import logging
import time
from uuid import UUID

from revos import events
from revos.accounts import safety
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.dms import jobs, lane
from revos.dms.executor import run_step
from revos.leads import sequence_repo
from revos.runtime import Runtime

log = logging.getLogger("revos.dms")
MAX_STEPS_PER_RUN = 3  # steps of one sequence in one account run
DUE_BATCH = 50  # due sequences read at once


async def run_account(runtime: Runtime, linkedin_account_id: UUID) -> int:
    """One account's DM run. Returns how many steps it ran."""
    settings = runtime.settings
    started = time.monotonic()
    token = jobs.running_account.set(linkedin_account_id)
    ran = 0
    # A step may lead straight to the next (profile check → first DM); a sequence that stays due
    # without progress (a bug) is left for the next run instead of spinning here.
    tries: dict[UUID, int] = {}
    due: list[UUID] = []
    size: int | None = None
    successor_queued = False
    try:
        while time.monotonic() - started < settings.dm_account_run_seconds:
            if not due:
                # The next due sequences, in due order; each step re-reads its sequence and checks that
                # the account is free first (in its own transaction), so the list is only a to-do list.
                async with runtime.db.service(actor="dms") as conn:
                    if (
                        await sequence_repo.account_busy_until(conn, linkedin_account_id, utcnow())
                        is not None
                    ):
                        break
                    due = [
                        sid
                        for sid in await sequence_repo.due_for_account(
                            conn, linkedin_account_id, utcnow(), DUE_BATCH
                        )
                        if tries.get(sid, 0) < MAX_STEPS_PER_RUN
                    ]
                    if size is None and due:
                        size = await _lane_size(runtime, conn, linkedin_account_id)
                    if not due:
                        # Nothing left: the successor is queued in this same transaction.
                        await _queue_successor(runtime, conn, linkedin_account_id)
                        successor_queued = True
                if not due:
                    break
            assert size is not None
            batch, due = due[:size], due[size:]
            for sequence_id in batch:
                tries[sequence_id] = tries.get(sequence_id, 0) + 1
            steps, busy = await _run_lane(runtime, linkedin_account_id, batch)
            ran += steps
            if busy:
                break
    finally:
        jobs.running_account.reset(token)
    if not successor_queued:
        async with runtime.db.service(actor="dms") as conn:
            await _queue_successor(runtime, conn, linkedin_account_id)
    return ran


async def _run_lane(
    runtime: Runtime, linkedin_account_id: UUID, batch: list[UUID], *, contain: bool = True
) -> tuple[int, bool]:
    """The batch's steps: a lane, then one by one those it left. Returns how many steps were run, and
    whether the account cannot act now. With `contain`, a lane's or a step's bug is logged and its
    sequences are left to the next run (an action it started is reconciled before anything is sent
    again); without, it is raised (the inline dispatch of tests)."""
    try:
        if len(batch) > 1:
            done = await lane.run(runtime, linkedin_account_id, batch)
        else:  # one at a time, the step in its own transactions
            done = lane.LaneRun(rest=batch)
    except Exception:
        if not contain:
            raise
        log.exception("DM lane of account %s failed", linkedin_account_id)
        return len(batch), False
    ran = len(done.outcomes)
    for sequence_id in done.rest:
        try:
            outcome = await run_step(runtime, sequence_id, account=linkedin_account_id)
        except Exception:
            if not contain:
                raise
            log.exception("DM step of sequence %s failed", sequence_id)
            outcome = "failed"
        if outcome == "busy":
            return ran, True
        ran += 1
    return ran, done.busy


async def _lane_size(runtime: Runtime, conn: Conn, linkedin_account_id: UUID) -> int:
    """`dm_lane_size` steps at a time; one for an account with a randomised gap between actions (the
    default): it sends one DM per gap, and a lane would read eight sequences to send one."""
    if runtime.settings.dm_lane_size > 1 and not await safety.spaced(
        conn, linkedin_account_id, runtime.settings
    ):
        return runtime.settings.dm_lane_size
    return 1


async def _queue_successor(runtime: Runtime, conn: Conn, linkedin_account_id: UUID) -> None:
    """The account's next run, for its next due moment (if any)."""
    at = await sequence_repo.next_due_for_account(conn, linkedin_account_id)
    if at is not None:
        # `force`: queued by the account's own run, for after it.
        await jobs.wake_account(runtime, conn, linkedin_account_id, at=at, force=True)


async def dispatch_due(runtime: Runtime, *, inline: bool = False) -> int:
    """Accounts with due sequences (by the revOS clock) → one `dms.run_account` job each (at most one
    waiting per account). With `inline` (tests on a manual clock), every due sequence is run here
    instead. Returns how many accounts (or, inline, sequences) were found due."""
    now = utcnow()
    batch = runtime.settings.dm_dispatch_batch
    if inline:
        async with runtime.db.service(actor="dms") as conn:
            due = await sequence_repo.due(conn, now, batch)
        by_account: dict[UUID, list[UUID]] = {}
        for row in due:
            by_account.setdefault(row["linkedin_account_id"], []).append(row["id"])
        for account_id, ids in by_account.items():
            async with runtime.db.service(actor="dms") as conn:
                size = await _lane_size(runtime, conn, account_id)
            for i in range(0, len(ids), size):
                await _run_lane(runtime, account_id, ids[i : i + size], contain=False)
        return len(due)
    async with runtime.db.service(actor="dms") as conn:
        accounts = await sequence_repo.due_accounts(conn, now, batch)
        await jobs.wake_accounts(runtime, conn, [row["linkedin_account_id"] for row in accounts], at=now)
    return len(accounts)


# --- reactions (revos.events.SUBSCRIPTIONS) ---------------------------------------------------------------


async def on_sequence_due(runtime: Runtime, conn: Conn, event: events.SequenceDue) -> None:
    """A step is due at `event.at`: make sure the account runs then (the run re-reads every due
    sequence, so a spare wake is harmless)."""
    await jobs.wake_account(runtime, conn, event.linkedin_account_id, at=event.at)


async def on_account_resumed(runtime: Runtime, conn: Conn, event: events.AccountResumed) -> None:
    """A resumed or reconnected account wakes its DM run: steps that waited for it go out now."""
    await jobs.wake_account(runtime, conn, event.linkedin_account_id, at=utcnow())
