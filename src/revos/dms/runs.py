"""Reactions of the DM executor to other domains' events (wired in `revos.events`)."""

from __future__ import annotations

from revos import events
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.dms import jobs
from revos.runtime import Runtime


async def on_account_resumed(runtime: Runtime, conn: Conn, event: events.AccountResumed) -> None:
    """A resumed or reconnected account wakes its DM run: steps that waited for it go out now."""
    await jobs.wake_account(conn, event.linkedin_account_id, at=utcnow())
