"""Queue tasks of the DM executor. Each takes ids, re-reads state and is idempotent: the work itself is
in plain functions of (runtime, ids) that tests and the demo can also call directly.

DM work runs per LinkedIn account (`dms.run_account`), under the account's lock
(`linkedin_account:<id>`): one account never runs two actions at once, whichever campaign asks.
"""

from __future__ import annotations

from uuid import UUID

from revos.dms import replies, runs
from revos.leads.lifecycle import base
from revos.queue import current_runtime, periodic, task


@task("dms.run_account", queue="dms", max_attempts=1)
async def run_account(linkedin_account_id: str) -> None:
    """Every due DM step of one LinkedIn account, one action at a time (see `revos.dms.runs`). Not
    retried by the queue: a failed run is found again by the next `dms.dispatch`."""
    await runs.run_account(current_runtime(), UUID(linkedin_account_id))


@periodic("dms.dispatch", cron=lambda s: s.cron_dms_dispatch)
async def dispatch(timestamp: int) -> None:
    """Accounts with due sequences (by the revOS clock) → their `dms.run_account` job."""
    await runs.dispatch_due(current_runtime())


@periodic("dms.abandon_due", cron=lambda s: s.cron_dms_abandon)
async def abandon_due(timestamp: int) -> None:
    """Sequences with no reply after the campaign's N days → abandoned, with the reason on the timeline."""
    await base.abandon_due(current_runtime())


@periodic("dms.poll_replies", cron=lambda s: s.cron_dms_poll_replies)
async def poll_replies(timestamp: int) -> None:
    """Polling fallback for replies: recent messages of every active account → the inbound inbox."""
    await replies.poll_replies(current_runtime())
