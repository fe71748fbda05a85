"""Deciding a sequence's one due action: which step, which ledger key, which text.

Ledger keys are the proof of exactly once: `invite:<sequence>`, `dm:<sequence>:1` (or
`dm:<sequence>:1:after-invitation` when the first attempt was refused because they were not connected),
`dm:<sequence>:followup`, `dm:<sequence>:2`, `dm:<sequence>:3`; a profile read is `profile:<sequence>`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from revos.actions import ledger
from revos.campaigns.rules import SequencePolicy
from revos.db.pool import Conn
from revos.dms import links
from revos.leads.context import SequenceContext
from revos.leads.lifecycle import outbound
from revos.runtime import Runtime
from revos.text import templates

FIRST_DEGREE = "FIRST_DEGREE"
_NOT_CONNECTED = ("SECOND_DEGREE", "THIRD_DEGREE", "OUT_OF_NETWORK")


@dataclass(frozen=True)
class Plan:
    """The one action a sequence needs now."""

    step: str  # "1" | "invite" | "followup" | "2" | "3" | "profile"
    kind: str  # ledger kind: dm | invitation | profile_view
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    # How step 1 goes (dm | invite) when this plan chose it: recorded with the step's outcome.
    chosen: str | None = None


def step_keys(sequence_id: UUID) -> list[str]:
    """Every ledger key a sequence's steps can use."""
    sid = sequence_id
    return [
        f"invite:{sid}",
        f"dm:{sid}:1",
        f"dm:{sid}:1:after-invitation",
        f"dm:{sid}:followup",
        f"dm:{sid}:2",
        f"dm:{sid}:3",
    ]


def _values(ctx: SequenceContext, download_url: str | None) -> dict[str, str | None]:
    return {
        "first_name": ctx.lead_first_name,
        "last_name": ctx.lead_last_name,
        "lead_magnet_name": ctx.lead_magnet_name or "the guide",
        "campaign_name": ctx.campaign_name,
        "email": ctx.email_extracted or ctx.lead_email,
        "download_url": download_url,
    }


async def _first_dm_key(conn: Conn, sequence_id: UUID, known: Mapping[str, str] | None) -> str:
    key = f"dm:{sequence_id}:1"
    if known is not None:
        status = known.get(key)
    else:
        existing = await ledger.get_by_key(conn, key)
        status = existing.status if existing is not None else None
    if status == "failed":
        return f"dm:{sequence_id}:1:after-invitation"
    return key


async def decide(
    runtime: Runtime,
    conn: Conn,
    ctx: SequenceContext,
    policy: SequencePolicy,
    now: datetime,
    *,
    known: Mapping[str, str] | None = None,
) -> Plan | None:
    """The sequence's due action, or None when its stage needs none. How step 1 goes (DM or invitation)
    is recorded with the step's outcome (`Plan.chosen`, see `revos.dms.executor`); step 3's download
    link is recorded as it is made. `known`: the statuses of the sequence's ledger actions by key,
    when the caller has read them (`step_keys`) in this transaction."""
    sid = ctx.id
    chat = {"chat_id": ctx.unipile_chat_id} if ctx.unipile_chat_id else {}
    values = _values(ctx, ctx.download_url)

    def dm(step: str, key: str, template: str) -> Plan:
        return Plan(step, "dm", key, {"text": templates.render(template, values), **chat})

    if ctx.stage == "step1":
        how = ctx.step1_status
        chosen = None
        if how not in ("dm", "invite"):
            # Decided from the comment's network distance, the same way each time it is asked.
            if ctx.comment_distance == FIRST_DEGREE:
                how = chosen = "dm"
            elif ctx.comment_distance in _NOT_CONNECTED:
                how = chosen = "invite"
            else:
                return Plan("profile", "profile_view", f"profile:{sid}")
        if how == "dm":
            plan = dm(
                "1", await _first_dm_key(conn, sid, known), ctx.template(1) or templates.DEFAULT_TEMPLATES[1]
            )
            return dataclasses.replace(plan, chosen=chosen)
        note_template = policy.invitation_note or templates.DEFAULT_INVITATION_NOTE
        note = templates.fit_invitation_note(templates.render(note_template, values))
        return Plan("invite", "invitation", f"invite:{sid}", {"message": note}, chosen=chosen)
    if ctx.stage == "awaiting_reply":
        return dm("followup", f"dm:{sid}:followup", policy.follow_up_template or templates.DEFAULT_FOLLOW_UP)
    if ctx.stage == "step2":
        return dm("2", f"dm:{sid}:2", ctx.template(2) or templates.DEFAULT_TEMPLATES[2])
    if ctx.stage == "step3":
        if not ctx.download_url:
            url, expires_at = links.download_url(runtime, sid, now)
            await outbound.link_created(conn, ctx, url, expires_at)
            values["download_url"] = url
        return dm("3", f"dm:{sid}:3", ctx.template(3) or templates.DEFAULT_TEMPLATES[3])
    return None
