"""A connected LinkedIn account's life: its status from Unipile, pauses, warm-up, name and profile.

Connecting one (credentials, checkpoints, reconnection, hosted auth) is `revos.accounts.connecting` and
`revos.accounts.hosted`; its safety budget is `revos.accounts.safety`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from revos.accounts import credentials, repo, safety
from revos.accounts.provider import linkedin_client
from revos.accounts.schemas import AccountUpdate
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import NotFound
from revos.linkedin import AccountOwnerProfile
from revos.linkedin.webhooks import AccountStatusEvent, WebhookEvent
from revos.queue import defer_if_absent
from revos.runtime import Runtime

log = logging.getLogger("revos.accounts")

# Unipile's account status → ours (spec's enum: active / expired / error). CONNECTING changes nothing.
STATUS_MAP = {
    "OK": "active",
    "CREATION_SUCCESS": "active",
    "RECONNECTED": "active",
    "SYNC_SUCCESS": "active",
    "CREDENTIALS": "expired",
    "ERROR": "error",
    "STOPPED": "error",
    "PERMISSIONS": "error",
    "DELETED": "error",
}


def default_account_name(account_id: UUID) -> str:
    """The name of an account nobody named, until its LinkedIn profile gives it one. Never the login."""
    return f"LinkedIn account {str(account_id)[:8]}"


def public_profile(profile: AccountOwnerProfile) -> dict[str, Any]:
    """What of the owner's profile is kept in clear text: everything but the email (the login, most
    often, which is stored encrypted in linkedin_email already)."""
    return profile.model_dump(mode="json", exclude_none=True, exclude={"email"})


async def name_after_profile(conn: Conn, account_id: UUID, profile: dict[str, Any] | None) -> None:
    """An account still under its default name takes the profile's display name, unless the same user
    already has an account by that name (the name stays unique per user, as the spec wants)."""
    if not profile:
        return
    display = " ".join(str(profile.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    if not display:
        return
    try:
        async with conn.transaction():
            await repo.rename_if_named(
                conn, account_id, current=default_account_name(account_id), new=display[:200]
            )
    except psycopg.errors.UniqueViolation:
        log.info("account %s keeps its default name: its user has another account named after it", account_id)


async def mark_connected(runtime: Runtime, conn: Conn, account_id: UUID, now: datetime) -> None:
    """The account is connected (again): it starts warming up (once), and a pause LinkedIn or Unipile
    caused is lifted."""
    await repo.start_warmup(conn, account_id, now)
    await safety.resume(runtime, conn, account_id, only_sources=safety.PROVIDER_PAUSES)


async def update(runtime: Runtime, conn: Conn, account_id: UUID, body: AccountUpdate) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "account_name" in changes:
        if await repo.get(conn, account_id) is None:
            raise NotFound("LinkedIn account not found")
        login = (await credentials.decrypt(runtime, conn, account_id)).username or ""
        if login and changes["account_name"].strip().lower() == login.strip().lower():
            # Named after the login: the column is clear text, read by the whole team.
            changes["account_name"] = credentials.mask_login(login)
    row = await repo.update(conn, account_id, changes)
    if row is None:
        raise NotFound("LinkedIn account not found")
    return row


async def pause(conn: Conn, account_id: UUID, reason: str | None, until: Any = None) -> dict[str, Any]:
    if await repo.get(conn, account_id) is None:
        raise NotFound("LinkedIn account not found")
    await safety.pause(conn, account_id, reason or "paused by a person", until, source="manual")
    row = await repo.get(conn, account_id)
    assert row is not None
    return row


async def resume(runtime: Runtime, conn: Conn, account_id: UUID) -> dict[str, Any]:
    if await repo.get(conn, account_id) is None:
        raise NotFound("LinkedIn account not found")
    await safety.resume(runtime, conn, account_id)
    row = await repo.get(conn, account_id)
    assert row is not None
    return row


async def refresh_profile(runtime: Runtime, account_id: UUID) -> bool:
    """Fill `profile_data` from GET /users/me (after an in-app approval, or on demand)."""
    async with runtime.db.service(actor="accounts") as conn:
        row = await repo.get(conn, account_id)
    if row is None or not row["unipile_account_id"]:
        return False
    profile = public_profile(await linkedin_client(runtime).get_own_profile(row["unipile_account_id"]))
    async with runtime.db.service(actor="accounts") as conn:
        await repo.update(conn, account_id, {"profile_data": profile, "last_sync_at": utcnow()})
        await name_after_profile(conn, account_id, profile)
    return True


# --- account_status handler ---------------------------------------------------------------------------------


async def on_account_status(
    conn: Conn, event_row: dict[str, Any], event: WebhookEvent, runtime: Runtime
) -> None:
    """Keep `status` current; pause on CREDENTIALS/ERROR/STOPPED, resume on OK/RECONNECTED."""
    if not isinstance(event, AccountStatusEvent) or event_row.get("linkedin_account_id") is None:
        return
    account_id: UUID = event_row["linkedin_account_id"]
    row = await repo.get(conn, account_id, for_update=True)
    if row is None:
        return
    latest = await repo.latest_status_event_id(conn, account_id)
    if latest is not None and latest != event_row["id"]:
        return  # a newer status arrived: it decides (events may be processed out of order)
    status = event.status.upper()
    values: dict[str, Any] = {"provider_status": status}
    if status in STATUS_MAP:
        values["status"] = STATUS_MAP[status]
    now = utcnow()
    if STATUS_MAP.get(status) == "active":
        values["checkpoint"] = None
        await repo.update(conn, account_id, values)
        await mark_connected(runtime, conn, account_id, now)
        if row["profile_data"] is None:
            # Connected out of band (in-app approval): read the profile in a job, not in this transaction.
            await _defer_profile_refresh(conn, account_id)
        return
    await repo.update(conn, account_id, values)
    if status == "CREDENTIALS":
        await safety.pause(
            conn,
            account_id,
            "LinkedIn disconnected this account (credentials expired): reconnect it",
            source="disconnected",
            now=now,
        )
    elif status in ("ERROR", "STOPPED", "PERMISSIONS", "DELETED"):
        await safety.pause(
            conn,
            account_id,
            f"Unipile reports the account as {status}: reconnect it",
            source="provider_error",
            now=now,
        )


async def _defer_profile_refresh(conn: Conn, account_id: UUID) -> None:
    await defer_if_absent(
        conn,
        "accounts.refresh_profile",
        {"account_id": str(account_id)},
        queueing_lock=f"accounts.refresh_profile:{account_id}",
    )
