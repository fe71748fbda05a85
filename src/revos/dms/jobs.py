"""Waking an account's DM run, in the caller's transaction.

The sequence rows are the source of truth for what is due (`next_action_at`). DM work runs per LinkedIn
account: one `dms.run_account` job acts for every due sequence of the account, one action at a time and
in due order, then queues its successor for the account's next due moment (design §3, §8: due work lives
in the domain tables). The job carries the account's lock (`linkedin_account:<id>`) and a queueing lock,
so an account has at most one run waiting and one running.

Runs are queued at most `dm_wake_horizon_seconds` ahead: a waiting job holding the account's lock would
hold up the account's other jobs until it runs. Later work, a lost job, or a queue that is not installed:
the periodic `dms.dispatch` finds the due rows anyway, so a lead is never forgotten between the two.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from uuid import UUID

from revos.accounts.safety import account_lock
from revos.clock import ManualClock, ScaledClock, get_clock
from revos.db.pool import Conn
from revos.queue import JobRequest, defer_many_if_absent
from revos.runtime import Runtime

RUN_ACCOUNT = "dms.run_account"

# The account whose run is executing in this task: its own steps do not wake it (the run queues its
# successor once, for the earliest moment it is needed).
running_account: ContextVar[UUID | None] = ContextVar("revos_dms_running_account", default=None)


def account_queueing_lock(linkedin_account_id: UUID | str) -> str:
    return f"{RUN_ACCOUNT}:{linkedin_account_id}"


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


async def wake_account(
    runtime: Runtime,
    conn: Conn,
    linkedin_account_id: UUID | str | None,
    *,
    at: datetime | None,
    force: bool = False,
) -> bool:
    """Queue the account's DM run for clock time `at` (None: now), unless one is already waiting, the
    moment is past the wake horizon, or this is the account's own run (`force` overrides that last one).
    True when a job was queued."""
    if linkedin_account_id is None:
        return False
    if (
        not force
        and running_account.get() is not None
        and str(running_account.get()) == str(linkedin_account_id)
    ):
        return False
    return bool(await wake_accounts(runtime, conn, [linkedin_account_id], at=at))


async def wake_accounts(
    runtime: Runtime, conn: Conn, linkedin_account_ids: list[UUID | str], *, at: datetime | None
) -> int:
    """Queue each account's DM run for clock time `at` (None: now), in one statement, leaving out the
    accounts whose run is already waiting (the dispatcher's wakes). Returns how many runs were queued."""
    delay = wall_delay(at)
    if not linkedin_account_ids or delay is None or delay > runtime.settings.dm_wake_horizon_seconds:
        return 0
    runs = [
        JobRequest(
            RUN_ACCOUNT,
            {"linkedin_account_id": str(account_id)},
            lock=account_lock(account_id),
            queueing_lock=account_queueing_lock(account_id),
            schedule_in=delay or None,
        )
        for account_id in linkedin_account_ids
    ]
    return len(await defer_many_if_absent(conn, runs))
