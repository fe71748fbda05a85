"""Connecting LinkedIn accounts through Unipile: login, checkpoints, reconnection, deletion.

Every LinkedIn call happens outside a database transaction: the row is written first (credentials
encrypted, bound to the row's id), committed, then Unipile is called, then the answer is recorded in a
new transaction. `tx` is the caller's way to open one (the request's tenant transaction, or the
service role in a job); these functions never commit by themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID, uuid4

import psycopg

from revos.accounts import credentials, repo, service
from revos.accounts.credentials import without_login
from revos.accounts.provider import ensure_webhooks, linkedin_client
from revos.accounts.schemas import AccountConnect, Credentials
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, RevosError, ValidationFailed
from revos.linkedin import (
    AccountCreated,
    AccountReconnected,
    CaptchaNotSupported,
    Checkpoint,
    CheckpointError,
    CheckpointExpired,
    InvalidCheckpointSolution,
    InvalidCredentials,
    UnipileClient,
    UnipileError,
)
from revos.linkedin import NotFound as ProviderNotFound
from revos.linkedin.errors import ActionRejected
from revos.runtime import Runtime

log = logging.getLogger("revos.accounts")

Tx = Callable[[], AbstractAsyncContextManager[Conn]]


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


def provider_failure(exc: UnipileError, creds: Credentials | None = None) -> RevosError:
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


def _account_name(body: AccountConnect, account_id: UUID) -> str:
    name = body.account_name
    # Named after the login, it is treated as unnamed: the column is clear text, read by the whole team.
    # (Not its masked form: two logins of one user would often mask alike and collide.)
    if not name or (body.username and name.strip().lower() == body.username.strip().lower()):
        return service.default_account_name(account_id)
    return name


async def connect(
    runtime: Runtime, tx: Tx, *, client_id: UUID, user_id: UUID | None, body: AccountConnect
) -> dict[str, Any]:
    client = linkedin_client(runtime)  # fails fast (503) when Unipile is not configured
    account_id = uuid4()
    creds = Credentials(
        username=body.username, password=body.password, li_at=body.li_at, user_agent=body.user_agent
    )
    async with tx() as conn:
        sealed = await credentials.encrypt(
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
        result = await client.connect_account(**credentials.login_kwargs(creds), country=body.country)
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
        raise provider_failure(exc, creds) from None
    return await apply_result(runtime, tx, client, account_id, result, discard_on_conflict=True)


async def _discard(tx: Tx, account_id: UUID) -> None:
    async with tx() as conn:
        await repo.delete(conn, account_id)


async def apply_result(
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
                await service.mark_connected(runtime, conn, account_id, now)
                await service.name_after_profile(conn, account_id, values.get("profile_data"))
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
        values["profile_data"] = service.public_profile(profile)
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
        raise provider_failure(exc) from exc
    return await apply_result(runtime, tx, client, account_id, result)


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
        raise provider_failure(exc) from exc
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
            else await credentials.decrypt(runtime, conn, account_id)
        )
    if not creds.has_any():
        raise ValidationFailed("no credentials stored for this account: send username and password or li_at")
    client = linkedin_client(runtime)
    was_connected = row["unipile_account_id"] and row["warmup_started_at"] is not None
    try:
        if was_connected:
            try:
                result = await client.reconnect_account(
                    row["unipile_account_id"], **credentials.login_kwargs(creds)
                )
            except ProviderNotFound:
                result = await client.connect_account(**credentials.login_kwargs(creds))
        else:
            result = await client.connect_account(**credentials.login_kwargs(creds))
    except CaptchaNotSupported as exc:
        raise CaptchaUnsolvable(
            "LinkedIn asked for a CAPTCHA, which cannot be solved through the API: "
            "reconnect with the li_at cookie"
        ) from exc
    except UnipileError as exc:
        raise provider_failure(exc, creds) from None
    if body is not None and body.has_any():
        async with tx() as conn:
            sealed = await credentials.encrypt(
                runtime, conn, client_id=row["client_id"], account_id=account_id, creds=body
            )
            await repo.update(conn, account_id, sealed)
    return await apply_result(runtime, tx, client, account_id, result)


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
