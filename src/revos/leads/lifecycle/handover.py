"""The captured lead leaves revOS: delivered to the client's webhook, then the download link is opened.

`captured` publishes `LeadCaptured` once the confirmation DM is out; the webhooks domain queues the
delivery and reports it back with `delivery_queued`, and `webhook_accepted` when the client's endpoint
answers 2xx. `link_clicked` is the download link (`/d/{token}`) being opened: the first click completes
the lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from revos import events
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.leads import repo, sequence_repo
from revos.leads.context import SequenceContext
from revos.leads.lifecycle import timeline
from revos.runtime import Runtime


async def captured(runtime: Runtime, conn: Conn, ctx: SequenceContext) -> None:
    """Hand the captured lead to the client's ESP/CRM webhook (delivered after this transaction commits)."""
    await events.publish(
        runtime,
        conn,
        events.LeadCaptured(client_id=ctx.client_id, campaign_id=ctx.campaign_id, lead_id=ctx.lead_id),
    )


async def delivery_queued(conn: Conn, lead_id: UUID, delivery_id: UUID | None) -> None:
    if delivery_id is None:
        await timeline.record(
            conn, lead_id, timeline.WEBHOOK_QUEUED, "no webhook endpoint receives this campaign's leads"
        )
        return
    await timeline.record(
        conn,
        lead_id,
        timeline.WEBHOOK_QUEUED,
        "lead queued for delivery to the client's webhook",
        data={"delivery_id": str(delivery_id)},
    )


async def webhook_accepted(conn: Conn, lead_id: UUID) -> bool:
    """The client's endpoint accepted the lead (2xx): the lead moves to `webhook_sent` (never back)."""
    return await repo.advance(conn, lead_id, "webhook_sent")


async def link_clicked(runtime: Runtime, conn: Conn, link: Mapping[str, Any]) -> None:
    """A genuine download link was opened (`link`: `sequence_repo.by_download_token`): the first click
    marks the link clicked, completes the lead and is reported to the client's webhook."""
    now = utcnow()
    if not await sequence_repo.mark_clicked(conn, link["id"], now):
        return
    lead_id, client_id = link["lead_id"], link["client_id"]
    await timeline.record(conn, lead_id, timeline.LINK_CLICKED, "opened the download link (first click)")
    await events.publish(
        runtime, conn, events.LinkClicked(client_id=client_id, lead_id=lead_id, clicked_at=now)
    )
    if await repo.advance(conn, lead_id, "completed"):
        await timeline.record(conn, lead_id, timeline.COMPLETED, "completed: they have the lead magnet")
        await events.publish(runtime, conn, events.LeadCompleted(client_id=client_id, lead_id=lead_id))
