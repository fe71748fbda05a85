"""What the action ledger records and answers: an action, the provider's ids, the outcome of `perform()`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from revos.errors import RevosError
from revos.linkedin import UnipileClient

Kind = Literal["post", "dm", "invitation", "comment", "reaction", "profile_view", "repost"]
Status = Literal["intent", "in_flight", "done", "ambiguous", "failed"]


@dataclass(frozen=True)
class Action:
    id: UUID
    client_id: UUID
    account_id: UUID  # linkedin_accounts.id
    kind: str
    key: str
    status: str
    target: str | None
    payload: dict[str, Any]
    provider_id: str | None
    provider_chat_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    done_at: datetime | None
    reserved_day: date | None
    unipile_account_id: str | None  # the account's id at Unipile, for calls and reconcilers

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Action:
        """From a `revos.actions.repo` row (a linkedin_actions row with its account's Unipile id)."""
        renamed = {
            "account_id": row["linkedin_account_id"],
            "key": row["action_key"],
            "payload": dict(row["payload"] or {}),
            "unipile_account_id": row.get("unipile_account_id"),
        }
        values = {**row, **renamed}
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class ProviderIds:
    """What the provider said the action created: a message/invitation/post/comment id (+ chat id)."""

    provider_id: str | None
    chat_id: str | None = None


Call = Callable[[UnipileClient, Action], Awaitable[ProviderIds]]
Reconcile = Callable[[UnipileClient, Action], Awaitable[ProviderIds | None]]

OutcomeStatus = Literal["done", "deferred", "ambiguous", "failed"]


@dataclass(frozen=True)
class ActionOutcome:
    """What `perform()` achieved.

    - done: performed (now or before) and confirmed with the provider's id: `action.provider_id`.
    - deferred: nothing happened now; ask again at `not_before` (None: when the account is resumed or
      reconnected). Reasons: safety budget, working hours, paused account, 429, transient error.
    - ambiguous: the call's outcome is unknown; run `perform()` again after `not_before` and it will
      reconcile with the provider before anything is resent.
    - failed: definitely not performed and retrying cannot help (`error` says why, e.g. NotConnected).
    """

    status: OutcomeStatus
    action: Action
    reason: str = ""
    not_before: datetime | None = None
    error: BaseException | None = field(default=None, compare=False)

    @property
    def done(self) -> bool:
        return self.status == "done"


class ActionConflict(RevosError):
    status_code = 409
    code = "action_conflict"


CONNECTED_PREFIX = "connected:"


def connected_id(target: str | None) -> str:
    """The id an invitation is confirmed with once the invitee has become a connection: LinkedIn keeps no
    id of an accepted invitation (its pending list drops it)."""
    return f"{CONNECTED_PREFIX}{target}"
