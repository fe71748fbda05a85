"""Deferring DM work in the caller's transaction.

The sequence row is the source of truth for what is due (`next_action_at`); a job is the fast path
that runs it on time. If the job is lost or the queue is not installed, the periodic `dms.dispatch`
task finds the due row anyway, so a lead can never be forgotten between the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from revos.clock import ManualClock, ScaledClock, get_clock
from revos.db.pool import Conn

START_SEQUENCE = "dms.start_sequence"
RUN_SEQUENCE = "dms.send_step"
CHECK_INVITATION = "dms.check_invitation"


def account_lock(linkedin_account_id: UUID | str | None) -> str | None:
    """One lock per LinkedIn account: its actions never run concurrently, whichever campaign asks."""
    return f"linkedin_account:{linkedin_account_id}" if linkedin_account_id else None


def wall_delay(at: datetime | None) -> float | None:
    """Wall seconds until clock time `at`: 0 when due, None when the clock is manual (tests step it and
    run the dispatcher themselves). The queue compares schedules with the database's wall time, while
    revOS reads time from its own clock, which a demo may run faster."""
    clock = get_clock()
    if at is None:
        return 0.0
    seconds = (at - clock.now()).total_seconds()
    if seconds <= 0:
        return 0.0
    if isinstance(clock, ScaledClock):
        return seconds / clock.factor
    if isinstance(clock, ManualClock):
        return None
    return seconds


async def defer(
    conn: Conn,
    task_name: str,
    args: dict[str, Any],
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    schedule_in: float | None = None,
) -> None:
    from revos.queue import defer as queue_defer
    from revos.queue import defer_if_absent

    if queueing_lock:
        await defer_if_absent(
            conn, task_name, args, lock=lock, queueing_lock=queueing_lock, schedule_in=schedule_in or None
        )
    else:
        await queue_defer(conn, task_name, args, lock=lock, schedule_in=schedule_in or None)


async def defer_start(
    conn: Conn, sequence_id: UUID, linkedin_account_id: UUID | str | None, *, at: datetime
) -> None:
    """Deferred in the transaction that creates the lead: step 1 runs when due (a manual clock: at once,
    and the job finds it not yet due; the dispatcher takes over)."""
    await defer(
        conn,
        START_SEQUENCE,
        {"sequence_id": str(sequence_id)},
        lock=account_lock(linkedin_account_id),
        schedule_in=wall_delay(at) or 0,
    )


async def defer_step(
    conn: Conn, sequence_id: UUID, linkedin_account_id: UUID | str | None, *, at: datetime | None
) -> None:
    """Run the sequence's next step when due. With a manual clock (or when the job is lost) the periodic
    dispatcher finds the due row instead; the task re-reads the sequence, so a spare job is harmless."""
    delay = wall_delay(at)
    if delay is None:
        return
    await defer(
        conn,
        RUN_SEQUENCE,
        {"sequence_id": str(sequence_id)},
        lock=account_lock(linkedin_account_id),
        queueing_lock=f"dms.sequence:{sequence_id}" if delay == 0 else None,
        schedule_in=delay,
    )
