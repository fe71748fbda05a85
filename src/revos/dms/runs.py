"""An account's DM run, the periodic dispatch that starts runs, and the executor's reactions to other
domains' events (wired in `revos.events`).

DM work runs per LinkedIn account: `run_account` takes the account's due sequences in due order (a batch
at a time) and does one step at a time (revos.dms.executor) until nothing is due, the account has to wait
(checked at the start of each step, in the step's own transaction), or the run has used
`dm_account_run_seconds`; then it queues its successor for the account's next due moment.
"""

from __future__ import annotations

import logging
import time
from uuid import UUID

from revos import events
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.dms import jobs
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
                    if not due:
                        # Nothing left: the successor is queued in this same transaction.
                        await _queue_successor(runtime, conn, linkedin_account_id)
                        successor_queued = True
                if not due:
                    break
            sequence_id = due.pop(0)
            tries[sequence_id] = tries.get(sequence_id, 0) + 1
            try:
                outcome = await run_step(runtime, sequence_id, account=linkedin_account_id)
            except Exception:
                # One sequence's bug must not stall the account: it is retried by the next run.
                log.exception("DM step of sequence %s failed", sequence_id)
                outcome = "failed"
            if outcome == "busy":
                break
            ran += 1
    finally:
        jobs.running_account.reset(token)
    if not successor_queued:
        async with runtime.db.service(actor="dms") as conn:
            await _queue_successor(runtime, conn, linkedin_account_id)
    return ran


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
        for row in due:
            await run_step(runtime, row["id"])
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
