"""What every transition shares: scheduling the sequence's next step, waiting, ending it."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from revos import events
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import repo, sequence_repo
from revos.leads.context import SequenceContext, load
from revos.leads.lifecycle import timeline
from revos.runtime import Runtime


async def schedule(runtime: Runtime, conn: Conn, ctx: SequenceContext, at: datetime | None) -> None:
    """The sequence has something to do at `at` (its `next_action_at` says so already): tell the
    executor, which wakes the account's DM run then."""
    await due(runtime, conn, ctx.client_id, ctx.id, ctx.linkedin_account_id, at)


async def due(
    runtime: Runtime,
    conn: Conn,
    client_id: UUID,
    sequence_id: UUID,
    linkedin_account_id: UUID | None,
    at: datetime | None,
) -> None:
    await events.publish(
        runtime,
        conn,
        events.SequenceDue(
            client_id=client_id, sequence_id=sequence_id, linkedin_account_id=linkedin_account_id, at=at
        ),
    )


async def reschedule(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, at: datetime, **values: object
) -> None:
    """Move the sequence's next action to `at` (with any other column changes) and schedule it."""
    await sequence_repo.update(conn, ctx.id, {"next_action_at": at, **values})
    await schedule(runtime, conn, ctx, at)


async def wait(
    runtime: Runtime, conn: Conn, ctx: SequenceContext, reason: str, not_before: datetime | None
) -> None:
    """Not now (the account's budget, the campaign's hours): reschedule, and say why unless it is only
    the random gap. Without `not_before`, look again after `dm_wait_recheck_seconds`."""
    at = not_before or utcnow() + timedelta(seconds=runtime.settings.dm_wait_recheck_seconds)
    await sequence_repo.update(conn, ctx.id, {"next_action_at": at})
    if not reason.startswith("spacing actions") and "in flight" not in reason:
        await timeline.record_unless_repeated(
            conn, ctx, timeline.WAITING, f"waiting: {reason}", data={"until": at.isoformat()}
        )
    await schedule(runtime, conn, ctx, at)


async def hold(conn: Conn, ctx: SequenceContext, reason: str, at: datetime) -> None:
    """The campaign is paused or not started yet: look again at `at` (the next dispatch finds it)."""
    await sequence_repo.update(conn, ctx.id, {"next_action_at": at})
    await timeline.record_unless_repeated(conn, ctx, timeline.WAITING, reason)


async def end(conn: Conn, ctx: SequenceContext, status: str, reason: str) -> None:
    """Close the sequence (failed | abandoned) with a reason a person can read."""
    await sequence_repo.update(
        conn,
        ctx.id,
        {"status": status, "failure_reason": reason, "next_action_at": None, "completed_at": utcnow()},
    )
    if status == "failed":
        await repo.fail(conn, ctx.lead_id)
        await timeline.record(conn, ctx, timeline.FAILED, reason)
    else:
        await timeline.record(conn, ctx, timeline.ABANDONED, reason)


async def abandon_due(runtime: Runtime) -> int:
    """Sequences with no email N days after our last DM → abandoned, with the reason on the timeline."""
    now = utcnow()
    count = 0
    async with runtime.db.service(actor="dms") as conn:
        for row in await sequence_repo.abandon_due(conn, now, runtime.settings.dm_dispatch_batch):
            ctx = await load(conn, row["id"])
            assert ctx is not None
            days = ctx.policy(runtime.settings).abandon_after.total_seconds() / 86400
            why = "no email in their replies" if ctx.last_reply_at else "no reply"
            await end(conn, ctx, "abandoned", f"{why} {days:g} days after our last DM")
            count += 1
    return count


async def record_message(
    conn: Conn,
    ctx: SequenceContext,
    direction: str,
    text: str,
    message_id: str | None,
    chat_id: str | None,
    at: datetime,
) -> bool:
    """A message of the lead's conversation (`dm_messages`), once per provider message id: False when
    it was already recorded (a redelivered webhook, a poll)."""
    row = await sequence_repo.insert_message(
        conn,
        {
            "client_id": ctx.client_id,
            "dm_sequence_id": ctx.id,
            "direction": direction,
            "message": text,
            "unipile_message_id": message_id,
            "unipile_conversation_id": chat_id,
            "sent_at": at,
        },
    )
    return row is not None
