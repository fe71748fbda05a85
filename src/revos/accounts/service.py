"""Connecting LinkedIn accounts through Unipile, checkpoints, reconnection, status, pause/resume.

Every LinkedIn call happens outside a database transaction: the row is written first (credentials
encrypted, bound to the row's id), committed, then Unipile is called, then the answer is recorded in a
new transaction. `tx` is the caller's way to open one (the request's tenant transaction, or the
service role in a job); these functions never commit by themselves.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID, uuid4

import psycopg

from revos.accounts import repo, safety
from revos.accounts.provider import linkedin_client, unipile_webhook_secret, webhook_url
from revos.accounts.schemas import AccountConnect, AccountUpdate, Credentials
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, RevosError, ValidationFailed
from revos.linkedin import (
    AccountCreated,
    AccountOwnerProfile,
    AccountReconnected,
    CaptchaNotSupported,
    Checkpoint,
    CheckpointError,
    CheckpointExpired,
    InvalidCheckpointSolution,
    InvalidCredentials,
    UnipileClient,
    UnipileError,
    Webhook,
)
from revos.linkedin import NotFound as ProviderNotFound
from revos.linkedin.errors import ActionRejected
from revos.linkedin.webhooks import AccountStatusEvent, WebhookEvent
from revos.runtime import Runtime

log = logging.getLogger("revos.accounts")

Tx = Callable[[], AbstractAsyncContextManager[Conn]]
TABLE = "linkedin_accounts"
WEBHOOK_SOURCES: dict[str, list[str] | None] = {
    "messaging": ["message_received", "message_read"],
    "account_status": None,
    "users": ["new_relation"],
}

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


class CaptchaUnsolvable(RevosError):
    status_code = 422
    code = "captcha_not_supported"


class WrongCheckpointCode(RevosError):
    status_code = 422
    code = "invalid_checkpoint_code"


class CheckpointGone(RevosError):
    status_code = 410
    code = "checkpoint_expired"


class LinkedInRejected(RevosError):
    status_code = 422
    code = "linkedin_rejected"


class ProviderUnavailable(RevosError):
    status_code = 502
    code = "linkedin_unavailable"


def _provider_failure(exc: UnipileError, creds: Credentials | None = None) -> RevosError:
    if isinstance(exc, InvalidCredentials):
        return LinkedInRejected(
            "LinkedIn rejected these credentials: check the email and password or the cookie"
        )
    if exc.status is not None and exc.status < 500 and exc.status != 429:
        # The provider's words may quote the login: it is a credential, never echoed in clear.
        return LinkedInRejected(
            without_login(
                f"LinkedIn/Unipile refused: {exc.title}" + (f" ({exc.detail})" if exc.detail else ""), creds
            )
        )
    return ProviderUnavailable(
        without_login(f"Unipile did not answer properly ({exc.title}); try again in a moment", creds)
    )


# --- the login is a secret ------------------------------------------------------------------------------------


def mask_login(login: str) -> str:
    """A login shown to tell accounts apart without revealing it: j***@example.com, +3***78."""
    login = login.strip()
    if "@" in login:
        local, _, domain = login.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(login) <= 4:
        return "***"
    return f"{login[:2]}***{login[-2:]}"


def without_login(text: str, creds: Credentials | None) -> str:
    """`text` with every spelling of the login replaced by its masked form."""
    login = (creds.username or "").strip() if creds else ""
    if len(login) < 3:
        return text
    return re.sub(re.escape(login), mask_login(login), text, flags=re.IGNORECASE)


def default_account_name(account_id: UUID) -> str:
    """The name of an account nobody named, until its LinkedIn profile gives it one. Never the login."""
    return f"LinkedIn account {str(account_id)[:8]}"


def _account_name(body: AccountConnect, account_id: UUID) -> str:
    name = body.account_name
    # Named after the login, it is treated as unnamed: the column is clear text, read by the whole team.
    # (Not its masked form: two logins of one user would often mask alike and collide.)
    if not name or (body.username and name.strip().lower() == body.username.strip().lower()):
        return default_account_name(account_id)
    return name


def public_profile(profile: AccountOwnerProfile) -> dict[str, Any]:
    """What of the owner's profile is kept in clear text: everything but the email (the login, most
    often, which is stored encrypted in linkedin_email already)."""
    return profile.model_dump(mode="json", exclude_none=True, exclude={"email"})


async def _name_after_profile(conn: Conn, account_id: UUID, profile: dict[str, Any] | None) -> None:
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


# --- credentials --------------------------------------------------------------------------------------------


async def _encrypt_credentials(
    runtime: Runtime, conn: Conn, *, client_id: UUID, account_id: UUID, creds: Credentials
) -> dict[str, Any]:
    async def seal(column: str, value: str | dict[str, Any]) -> bytes:
        return await runtime.vault.encrypt(
            conn, client_id=client_id, table=TABLE, column=column, row_id=account_id, value=value, layers=2
        )

    session: dict[str, Any] = {}
    if creds.li_at:
        session["li_at"] = creds.li_at
    if creds.user_agent:
        session["user_agent"] = creds.user_agent
    return {
        "linkedin_email": await seal("linkedin_email", creds.username or ""),
        "linkedin_password": await seal("linkedin_password", creds.password or ""),
        "unipile_session": await seal("unipile_session", session) if session else None,
    }


async def _decrypt_credentials(runtime: Runtime, conn: Conn, account_id: UUID) -> Credentials:
    row = await repo.credentials_of(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")

    async def open_(column: str) -> str:
        return await runtime.vault.decrypt_text(
            conn,
            client_id=row["client_id"],
            table=TABLE,
            column=column,
            row_id=account_id,
            ciphertext=bytes(row[column]),
            layers=2,
        )

    session: dict[str, Any] = {}
    if row["unipile_session"] is not None:
        session = json.loads(await open_("unipile_session"))
    username, password = await open_("linkedin_email"), await open_("linkedin_password")
    return Credentials(
        username=username or None,
        password=password or None,
        li_at=session.get("li_at"),
        user_agent=session.get("user_agent"),
    )


def _login_kwargs(creds: Credentials) -> dict[str, Any]:
    if creds.li_at:
        return {"access_token": creds.li_at, "user_agent": creds.user_agent}
    return {"username": creds.username, "password": creds.password, "user_agent": creds.user_agent}


# --- connect and checkpoints --------------------------------------------------------------------------------


async def connect(
    runtime: Runtime, tx: Tx, *, client_id: UUID, user_id: UUID | None, body: AccountConnect
) -> dict[str, Any]:
    client = linkedin_client(runtime)  # fails fast (503) when Unipile is not configured
    account_id = uuid4()
    creds = Credentials(
        username=body.username, password=body.password, li_at=body.li_at, user_agent=body.user_agent
    )
    async with tx() as conn:
        sealed = await _encrypt_credentials(
            runtime, conn, client_id=client_id, account_id=account_id, creds=creds
        )
        await repo.insert(
            conn,
            {
                "id": account_id,
                "client_id": client_id,
                "user_id": user_id,
                "account_name": _account_name(body, account_id),
                **sealed,
                "status": "expired",
                "provider_status": "CONNECTING",
                "timezone": body.timezone,
                "safety": body.safety,
            },
        )
    try:
        result = await client.connect_account(**_login_kwargs(creds), country=body.country)
    except CaptchaNotSupported as exc:
        await _discard(tx, account_id)
        raise CaptchaUnsolvable(
            "LinkedIn asked for a CAPTCHA, which cannot be solved through the API: connect with the "
            "li_at cookie and your browser's user agent instead",
            detail={"checkpoint": {"type": "CAPTCHA", "solvable": False}},
        ) from exc
    except UnipileError as exc:
        await _discard(tx, account_id)
        # Not chained: the provider's error may quote the login, and a chained one is printed with it.
        raise _provider_failure(exc, creds) from None
    return await _apply(runtime, tx, client, account_id, result, discard_on_conflict=True)


async def _discard(tx: Tx, account_id: UUID) -> None:
    async with tx() as conn:
        await repo.delete(conn, account_id)


async def _apply(
    runtime: Runtime,
    tx: Tx,
    client: UnipileClient,
    account_id: UUID,
    result: AccountCreated | AccountReconnected | Checkpoint,
    *,
    discard_on_conflict: bool = False,
) -> dict[str, Any]:
    now = utcnow()
    try:
        # Before a pending checkpoint too: an in-app approval is only reported through these webhooks.
        await ensure_webhooks(runtime, client)
    except UnipileError as exc:
        log.warning("Unipile webhooks not registered (polling still works): %s", exc)
    if isinstance(result, Checkpoint):
        values: dict[str, Any] = {
            "unipile_account_id": result.account_id,
            "checkpoint": {
                "type": result.checkpoint.type,
                "source": result.checkpoint.source,
                "started_at": now.isoformat(),
            },
            "provider_status": "CHECKPOINT",
        }
    else:
        values = await _completion(runtime, client, result.account_id)
    try:
        async with tx() as conn:
            row = await repo.update(conn, account_id, values)
            if row is None:
                raise NotFound("LinkedIn account not found")
            if not isinstance(result, Checkpoint):
                await conn.execute(
                    "update linkedin_accounts set warmup_started_at = coalesce(warmup_started_at, %s)"
                    " where id = %s",
                    (now, account_id),
                )
                await _name_after_profile(conn, account_id, values.get("profile_data"))
                await safety.resume(conn, account_id, only_sources=safety.PROVIDER_PAUSES)
                row = await repo.get(conn, account_id)
                assert row is not None
            return row
    except psycopg.errors.UniqueViolation as exc:
        if discard_on_conflict:
            await _discard(tx, account_id)
        raise Conflict(
            "this LinkedIn account is already connected to revOS: reconnect that one instead"
        ) from exc


async def _completion(runtime: Runtime, client: UnipileClient, unipile_account_id: str) -> dict[str, Any]:
    """Values of a freshly connected account: active, profile filled."""
    values: dict[str, Any] = {
        "unipile_account_id": unipile_account_id,
        "status": "active",
        "provider_status": "OK",
        "checkpoint": None,
        "last_sync_at": utcnow(),
    }
    try:
        profile = await client.get_own_profile(unipile_account_id)
        values["profile_data"] = public_profile(profile)
    except UnipileError as exc:
        log.warning("profile of %s not read yet: %s", unipile_account_id, exc)
    return values


async def solve_checkpoint(runtime: Runtime, tx: Tx, account_id: UUID, code: str) -> dict[str, Any]:
    async with tx() as conn:
        row = await repo.get(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")
    if not row["checkpoint"] or not row["unipile_account_id"]:
        raise Conflict("no verification is pending for this account")
    client = linkedin_client(runtime)
    try:
        result = await client.solve_checkpoint(row["unipile_account_id"], code)
    except InvalidCheckpointSolution as exc:
        raise WrongCheckpointCode("that code is not the one LinkedIn sent: check it and try again") from exc
    except CaptchaNotSupported as exc:
        await _clear_checkpoint(tx, account_id, "CAPTCHA")
        raise CaptchaUnsolvable(
            "LinkedIn now asks for a CAPTCHA, which cannot be solved through the API: "
            "reconnect with the li_at cookie instead"
        ) from exc
    except (CheckpointExpired, ProviderNotFound) as exc:
        await _clear_checkpoint(tx, account_id, "CHECKPOINT_EXPIRED")
        raise CheckpointGone(
            "the verification window (about 5 minutes) is over: start again with "
            f"POST /v1/linkedin-accounts/{account_id}/reconnect"
        ) from exc
    except CheckpointError as exc:
        raise Conflict(
            f"this verification cannot be completed with a code yet: {exc.detail or exc.title}"
        ) from exc
    except UnipileError as exc:
        raise _provider_failure(exc) from exc
    return await _apply(runtime, tx, client, account_id, result)


async def _clear_checkpoint(tx: Tx, account_id: UUID, provider_status: str) -> None:
    async with tx() as conn:
        await repo.update(conn, account_id, {"checkpoint": None, "provider_status": provider_status})


async def resend_checkpoint(runtime: Runtime, tx: Tx, account_id: UUID) -> dict[str, Any]:
    async with tx() as conn:
        row = await repo.get(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")
    if not row["checkpoint"] or not row["unipile_account_id"]:
        raise Conflict("no verification is pending for this account")
    client = linkedin_client(runtime)
    try:
        await client.resend_checkpoint(row["unipile_account_id"])
    except (CheckpointExpired, ProviderNotFound) as exc:
        await _clear_checkpoint(tx, account_id, "CHECKPOINT_EXPIRED")
        raise CheckpointGone(
            "the verification window is over: start again with "
            f"POST /v1/linkedin-accounts/{account_id}/reconnect"
        ) from exc
    except ActionRejected as exc:
        raise Conflict("LinkedIn sent a code moments ago: wait about 30 seconds before asking again") from exc
    except UnipileError as exc:
        raise _provider_failure(exc) from exc
    return row


async def reconnect(
    runtime: Runtime, tx: Tx, account_id: UUID, body: Credentials | None = None
) -> dict[str, Any]:
    """Reconnect (or restart a connection whose verification expired), with new or stored credentials."""
    async with tx() as conn:
        row = await repo.get(conn, account_id)
        if row is None:
            raise NotFound("LinkedIn account not found")
        creds = (
            body
            if body is not None and body.has_any()
            else await _decrypt_credentials(runtime, conn, account_id)
        )
    if not creds.has_any():
        raise ValidationFailed("no credentials stored for this account: send username and password or li_at")
    client = linkedin_client(runtime)
    was_connected = row["unipile_account_id"] and row["warmup_started_at"] is not None
    try:
        if was_connected:
            try:
                result = await client.reconnect_account(row["unipile_account_id"], **_login_kwargs(creds))
            except ProviderNotFound:
                result = await client.connect_account(**_login_kwargs(creds))
        else:
            result = await client.connect_account(**_login_kwargs(creds))
    except CaptchaNotSupported as exc:
        raise CaptchaUnsolvable(
            "LinkedIn asked for a CAPTCHA, which cannot be solved through the API: "
            "reconnect with the li_at cookie"
        ) from exc
    except UnipileError as exc:
        raise _provider_failure(exc, creds) from None
    if body is not None and body.has_any():
        async with tx() as conn:
            sealed = await _encrypt_credentials(
                runtime, conn, client_id=row["client_id"], account_id=account_id, creds=body
            )
            await repo.update(conn, account_id, sealed)
    return await _apply(runtime, tx, client, account_id, result)


async def delete(runtime: Runtime, tx: Tx, account_id: UUID) -> None:
    async with tx() as conn:
        row = await repo.get(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")
    if row["unipile_account_id"]:
        client = linkedin_client(runtime)
        try:
            await client.delete_account(row["unipile_account_id"])
        except ProviderNotFound:
            pass  # already gone at Unipile
        except UnipileError as exc:
            raise ProviderUnavailable(
                f"could not delete the account at Unipile ({exc.title}); try again"
            ) from exc
    try:
        async with tx() as conn:
            await repo.delete(conn, account_id)
    except psycopg.errors.ForeignKeyViolation as exc:
        raise Conflict(
            "this account is still used by campaigns or posts: reassign or delete them first"
        ) from exc


async def update(runtime: Runtime, conn: Conn, account_id: UUID, body: AccountUpdate) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "account_name" in changes:
        if await repo.get(conn, account_id) is None:
            raise NotFound("LinkedIn account not found")
        login = (await _decrypt_credentials(runtime, conn, account_id)).username or ""
        if login and changes["account_name"].strip().lower() == login.strip().lower():
            # Named after the login: the column is clear text, read by the whole team.
            changes["account_name"] = mask_login(login)
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


async def resume(conn: Conn, account_id: UUID) -> dict[str, Any]:
    if await repo.get(conn, account_id) is None:
        raise NotFound("LinkedIn account not found")
    await safety.resume(conn, account_id)
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
        await _name_after_profile(conn, account_id, profile)
    return True


# --- Unipile webhooks ---------------------------------------------------------------------------------------


async def ensure_webhooks(runtime: Runtime, client: UnipileClient | None = None) -> list[str]:
    """Subscribe `{public_base_url}/hooks/unipile` to messaging, account_status and users events, once.

    Idempotent: an existing subscription with our URL and our secret is kept; one with our URL and a stale
    secret is replaced. Returns the sources that were (re)created."""
    client = client or linkedin_client(runtime)
    url = webhook_url(runtime.settings)
    secret = unipile_webhook_secret(runtime.settings)
    from revos.linkedin.messaging import WEBHOOK_SECRET_HEADER

    existing: dict[str, bool] = {}
    async for hook in client.iter_webhooks():
        source = _source_of(hook)
        if hook.request_url != url or source not in WEBHOOK_SOURCES:
            continue
        current = any(
            h.get("key", "").lower() == WEBHOOK_SECRET_HEADER.lower() and h.get("value") == secret
            for h in hook.headers or []
        )
        if current and not existing.get(source):
            existing[source] = True
        else:
            await client.delete_webhook(hook.id)
    created = []
    for source, events in WEBHOOK_SOURCES.items():
        if existing.get(source):
            continue
        await client.create_webhook(
            source,  # type: ignore[arg-type]
            url,
            name=f"revos-{source}",
            secret=secret,
            events=events,
        )
        created.append(source)
    return created


def _source_of(hook: Webhook) -> str | None:
    """Which source a listed webhook serves. Unipile's list does not say (spec §9.1, and the SDK's schema
    has no `source`): ours are named `revos-<source>` when created, so the name tells."""
    if hook.source:
        return hook.source
    name = hook.name or ""
    return name.removeprefix("revos-") if name.startswith("revos-") else None


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
    from revos.inbound.service import latest_status_event

    latest = await latest_status_event(conn, account_id)
    if latest is not None and latest["id"] != event_row["id"]:
        return  # a newer status arrived: it decides (events may be processed out of order)
    status = event.status.upper()
    values: dict[str, Any] = {"provider_status": status}
    if status in STATUS_MAP:
        values["status"] = STATUS_MAP[status]
    now = utcnow()
    if STATUS_MAP.get(status) == "active":
        values["checkpoint"] = None
        await repo.update(conn, account_id, values)
        await conn.execute(
            "update linkedin_accounts set warmup_started_at = coalesce(warmup_started_at, %s) where id = %s",
            (now, account_id),
        )
        await safety.resume(conn, account_id, only_sources=safety.PROVIDER_PAUSES)
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
    from revos.queue import defer_if_absent

    await defer_if_absent(
        conn,
        "accounts.refresh_profile",
        {"account_id": str(account_id)},
        queueing_lock=f"accounts.refresh_profile:{account_id}",
    )
