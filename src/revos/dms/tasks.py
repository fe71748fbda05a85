"""Queue tasks of the DM sequence. Each takes ids, re-reads state and is idempotent: the work itself is
in `revos.dms.sequence` and `revos.leads.flow` as plain functions of (runtime, ids), which tests and
the demo can also call directly.

Jobs that act on a LinkedIn account carry `lock="linkedin_account:<id>"`, so one account never runs two
actions at once, whichever campaign asks.
"""

from __future__ import annotations

from uuid import UUID

from revos.dms import sequence
from revos.leads import flow
from revos.queue import current_runtime, periodic, task


@task("dms.start_sequence", queue="dms")
async def start_sequence(sequence_id: str) -> None:
    """Deferred with the lead: runs step 1 at once if it is already due (else the dispatcher will)."""
    await sequence.run_step(current_runtime(), UUID(sequence_id))


@task("dms.send_step", queue="dms")
async def send_step(sequence_id: str) -> None:
    """Do the sequence's next due action (DM, invitation, confirmation, backup link) if it is due."""
    await sequence.run_step(current_runtime(), UUID(sequence_id))


@task("dms.check_invitation", queue="dms")
async def check_invitation(linkedin_account_id: str) -> None:
    """Polling fallback for accepted invitations of one account (webhooks can lag by hours)."""
    await sequence.check_invitations(current_runtime(), UUID(linkedin_account_id))


@periodic("dms.dispatch", cron=lambda s: s.cron_dms_dispatch)
async def dispatch(timestamp: int) -> None:
    """Due sequences (by the revOS clock) → one `dms.send_step` job each, locked per account."""
    await sequence.dispatch_due(current_runtime())


@periodic("dms.abandon_due", cron=lambda s: s.cron_dms_abandon)
async def abandon_due(timestamp: int) -> None:
    """Sequences with no reply after the campaign's N days → abandoned, with the reason on the timeline."""
    await sequence.abandon_due(current_runtime())


@periodic("dms.poll_replies", cron=lambda s: s.cron_dms_poll_replies)
async def poll_replies(timestamp: int) -> None:
    """Polling fallback for replies: recent messages of every active account → the inbound inbox."""
    await flow.poll_replies(current_runtime())
