"""One DM sequence with everything a step needs, as a frozen, typed value.

`load` reads the sequence joined to its lead, campaign, lead magnet, LinkedIn account and the comment
that made the lead (`sequence_repo.context`); the engine passes the result around instead of rows.
A transition that changes the sequence re-reads it (or derives a copy with `dataclasses.replace`);
nothing edits a context in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from revos.campaigns.rules import SequencePolicy, parse_settings, sequence_policy
from revos.campaigns.schemas import CampaignSettings
from revos.config import Settings
from revos.db.pool import Conn
from revos.leads import sequence_repo


@dataclass(frozen=True, slots=True)
class SequenceContext:
    # the sequence (dm_sequences)
    id: UUID
    client_id: UUID
    lead_id: UUID
    campaign_id: UUID
    linkedin_account_id: UUID  # a sequence is only made for a post with an account
    status: str
    stage: str
    next_action_at: datetime | None
    abandon_at: datetime | None
    attempts: int
    step1_status: str | None
    step1_sent_at: datetime | None
    invitation_sent_at: datetime | None
    invitation_accepted_at: datetime | None
    followup_sent_at: datetime | None
    last_reply_at: datetime | None
    unipile_chat_id: str | None
    email_extracted: str | None
    email_extracted_at: datetime | None
    email_confidence: Decimal | float | None
    review_status: str | None
    download_url: str | None
    download_url_expires_at: datetime | None
    # the lead
    lead_first_name: str | None
    lead_last_name: str | None
    lead_linkedin_id: str
    lead_status: str | None
    lead_email: str | None
    lead_comment_id: UUID | None
    comment_distance: str | None
    # the campaign and its lead magnet
    campaign_name: str | None
    campaign_status: str | None
    campaign_starts_at: datetime | None
    campaign_ends_at: datetime | None
    campaign_settings: CampaignSettings
    dm_template_step1: str | None
    dm_template_step2: str | None
    dm_template_step3: str | None
    lead_magnet_id: UUID | None
    lead_magnet_name: str | None
    # the LinkedIn account it sends from
    unipile_account_id: str | None
    account_timezone: str | None
    account_status: str | None = None
    account_paused_at: datetime | None = None
    account_paused_until: datetime | None = None
    account_next_action_at: datetime | None = None
    account_rate_limit_strikes: int = 0  # 429s not yet forgotten (a confirmed action forgets them)
    # (key, id, status) of the ledger actions under the keys `load` was given, oldest first
    ledger_actions: tuple[tuple[str, UUID, str], ...] = ()

    def account_busy_until(self, now: datetime) -> datetime | None:
        """`sequence_repo.account_busy_until` of the sequence's account, as the context read it (with
        the sequence locked): not None when the account cannot act at `now`."""
        if self.account_status is None:
            return now  # no such account
        return sequence_repo.busy_until(
            {
                "status": self.account_status,
                "paused_at": self.account_paused_at,
                "paused_until": self.account_paused_until,
                "next_action_at": self.account_next_action_at,
            },
            now,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SequenceContext:
        values: dict[str, Any] = {f.name: row.get(f.name) for f in dataclasses.fields(cls)}
        values["campaign_settings"] = parse_settings(row.get("campaign_settings"))
        values["attempts"] = int(row.get("attempts") or 0)
        values["account_rate_limit_strikes"] = int(row.get("account_rate_limit_strikes") or 0)
        values["ledger_actions"] = tuple(
            (str(key), UUID(str(action_id)), str(status))
            for key, action_id, status in row.get("ledger_actions") or ()
        )
        return cls(**values)

    @property
    def campaign(self) -> dict[str, Any]:
        """The campaign's status and window, as `campaigns.rules.send_block` reads them."""
        return {
            "status": self.campaign_status,
            "starts_at": self.campaign_starts_at,
            "ends_at": self.campaign_ends_at,
        }

    def policy(self, settings: Settings) -> SequencePolicy:
        return sequence_policy(self.campaign_settings, settings)

    def template(self, step: int) -> str | None:
        return {1: self.dm_template_step1, 2: self.dm_template_step2, 3: self.dm_template_step3}[step]


# The context's fields read from the sequence row itself (`attempts` is read apart: an int); the ids of
# its lead, campaign and client never change.
SEQUENCE_FIELDS = (
    "linkedin_account_id",
    "status",
    "stage",
    "next_action_at",
    "abandon_at",
    "step1_status",
    "step1_sent_at",
    "invitation_sent_at",
    "invitation_accepted_at",
    "followup_sent_at",
    "last_reply_at",
    "unipile_chat_id",
    "email_extracted",
    "email_extracted_at",
    "email_confidence",
    "review_status",
    "download_url",
    "download_url_expires_at",
)


_REFRESHED = (*SEQUENCE_FIELDS, "attempts")


async def load(
    conn: Conn, sequence_id: UUID, *, for_update: bool = False, action_keys: list[str] | None = None
) -> SequenceContext | None:
    """The sequence's context; `for_update` locks the sequence row (every writer of a sequence does).
    `action_keys`: the ledger keys whose actions it reads too (`ledger_actions`)."""
    row = await sequence_repo.context(conn, sequence_id, for_update=for_update, action_keys=action_keys)
    return SequenceContext.from_row(row) if row is not None else None


async def load_many(
    conn: Conn, sequence_ids: Sequence[UUID], action_keys: Mapping[UUID, Sequence[str]]
) -> dict[UUID, SequenceContext]:
    """`load(for_update=True)` of many sequences in two statements (the sequences locked in the order of
    their ids, then their ledger actions under `action_keys`): those that exist, by id."""
    rows = await sequence_repo.contexts(conn, sequence_ids, for_update=True)
    owner = {key: sid for sid, keys in action_keys.items() for key in keys}
    found: dict[UUID, list[list[Any]]] = {row["id"]: [] for row in rows}
    for action in await sequence_repo.ledger_actions(conn, list(owner)):
        sid = owner[action["action_key"]]
        if sid in found:
            found[sid].append([action["action_key"], action["id"], action["status"]])
    return {row["id"]: SequenceContext.from_row({**row, "ledger_actions": found[row["id"]]}) for row in rows}


async def refresh(conn: Conn, ctx: SequenceContext) -> SequenceContext | None:
    """The context with its sequence re-read and locked (what a reply or another worker may have changed
    meanwhile); the lead, campaign and account parts stay as `ctx` read them at the start of the step."""
    row = await sequence_repo.refresh(conn, ctx.id, _REFRESHED)
    return None if row is None else _refreshed(ctx, row)


async def refresh_many(conn: Conn, ctxs: Sequence[SequenceContext]) -> dict[UUID, SequenceContext]:
    """`refresh` of many contexts in one statement (the sequences locked in the order of their ids): those
    whose sequence still exists, by id."""
    rows = await sequence_repo.refresh_many(conn, [ctx.id for ctx in ctxs], _REFRESHED)
    by_id = {ctx.id: ctx for ctx in ctxs}
    return {row["id"]: _refreshed(by_id[row["id"]], row) for row in rows}


def _refreshed(ctx: SequenceContext, row: Mapping[str, Any]) -> SequenceContext:
    values: dict[str, Any] = {name: row[name] for name in SEQUENCE_FIELDS}
    values["attempts"] = int(row.get("attempts") or 0)
    return dataclasses.replace(ctx, **values)
