"""Hosted auth: connecting a LinkedIn account on Unipile's own page, so revOS never sees the login.

Unipile's recommended flow (spec §4.3): revOS asks Unipile for a link (`POST /hosted/accounts/link`), the
person opens it and logs in there, and Unipile POSTs `{status, account_id, name}` to the link's
`notify_url`. That callback is public, so it is authenticated by what only revOS and Unipile know: a token
in its path, signed with a key derived from the master key, naming the client, the user, the account to
reconnect (if any) and an expiry, plus the `name` revOS gave the link, which Unipile must echo back. The
account it names is then read from Unipile before anything is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pydantic import ValidationError

from revos.accounts import credentials, repo
from revos.accounts.connecting import apply_result, provider_failure
from revos.accounts.provider import linkedin_client
from revos.accounts.schemas import Credentials, HostedLinkCreate
from revos.accounts.service import default_account_name
from revos.clock import utcnow
from revos.config import Settings
from revos.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from revos.linkedin import AccountCreated, AccountReconnected, HostedAuthNotification, UnipileError
from revos.linkedin import NotFound as ProviderNotFound
from revos.runtime import Runtime

# How long after the link expires its callback is still accepted: Unipile calls it when the person is done,
# which may be a little after the link stopped accepting new logins.
NOTIFY_GRACE = timedelta(hours=1)
NOTIFY_PATH = "/v1/linkedin-accounts/hosted-link/notify/"


class HostedLinkRefused(Unauthorized):
    code = "hosted_link_refused"


def _key(settings: Settings) -> bytes:
    settings.require_secrets()
    assert settings.master_key is not None
    return hmac.new(
        settings.master_key.get_secret_value().encode(), b"revos:hosted-auth", hashlib.sha256
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(settings: Settings, claims: dict[str, Any]) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(_key(settings), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def verify(settings: Settings, token: str, now: datetime) -> dict[str, Any]:
    body, _, mac = token.partition(".")
    expected = _b64(hmac.new(_key(settings), body.encode(), hashlib.sha256).digest())
    if not mac or not hmac.compare_digest(mac, expected):
        raise HostedLinkRefused("this callback was not issued by revOS")
    try:
        claims: dict[str, Any] = json.loads(_unb64(body))
    except ValueError as exc:
        raise HostedLinkRefused("this callback was not issued by revOS") from exc
    if now.timestamp() > float(claims["exp"]) + NOTIFY_GRACE.total_seconds():
        raise HostedLinkRefused("this connection link has expired: ask for a new one")
    return claims


async def create_link(
    runtime: Runtime, tx: Any, *, client_id: UUID, user_id: UUID | None, body: HostedLinkCreate
) -> dict[str, Any]:
    client = linkedin_client(runtime)
    reconnect_unipile_id: str | None = None
    if body.account_id is not None:
        async with tx() as conn:
            row = await repo.get(conn, body.account_id)
        if row is None:
            raise NotFound("LinkedIn account not found")
        if not row["unipile_account_id"]:
            raise Conflict("this account was never connected at Unipile: ask for a link without account_id")
        reconnect_unipile_id = row["unipile_account_id"]
    expires_at = utcnow() + timedelta(minutes=body.expires_in_minutes)
    name = secrets.token_urlsafe(12)
    claims = {
        "c": str(client_id),
        "u": str(user_id) if user_id else None,
        "a": str(body.account_id) if body.account_id else None,
        "n": name,
        "exp": int(expires_at.timestamp()),
    }
    notify_url = runtime.settings.public_base_url.rstrip("/") + NOTIFY_PATH + sign(runtime.settings, claims)
    try:
        link = await client.create_hosted_auth_link(
            expires_on=expires_at,
            reconnect_account=reconnect_unipile_id,
            name=name,
            notify_url=notify_url,
            success_redirect_url=body.success_redirect_url,
            failure_redirect_url=body.failure_redirect_url,
        )
    except UnipileError as exc:
        raise provider_failure(exc) from None
    return {"url": link.url, "expires_at": expires_at}


async def notified(runtime: Runtime, token: str, raw: bytes) -> dict[str, Any]:
    """Unipile says the person is done: record (or reconnect) the account the link was for."""
    claims = verify(runtime.settings, token, utcnow())
    try:
        note = HostedAuthNotification.model_validate_json(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            "unreadable hosted-auth notification: {status, account_id, name} expected"
        ) from exc
    if not hmac.compare_digest(note.name or "", str(claims["n"])):
        raise HostedLinkRefused("this notification is not about the link revOS issued")
    client = linkedin_client(runtime)
    try:
        account = await client.get_account(note.account_id)
    except ProviderNotFound as exc:
        raise ValidationFailed("Unipile does not know the account this notification names") from exc
    except UnipileError as exc:
        raise provider_failure(exc) from None
    if account.type != "LINKEDIN":
        raise ValidationFailed(f"a {account.type} account was connected, not a LinkedIn one")

    def tx() -> Any:
        return runtime.db.service(actor="accounts")

    client_id = UUID(claims["c"])
    if claims.get("a"):
        account_id = UUID(claims["a"])
        async with tx() as conn:
            row = await repo.get(conn, account_id)
            if row is None or row["client_id"] != client_id:
                raise NotFound("LinkedIn account not found")
            await repo.update(conn, account_id, {"unipile_account_id": note.account_id})
        result: AccountCreated | AccountReconnected = AccountReconnected(
            object="AccountReconnected", account_id=note.account_id
        )
        return await apply_result(runtime, tx, client, account_id, result)
    async with tx() as conn:
        existing = await repo.by_unipile_id(conn, note.account_id)
    if existing is not None:
        if existing["client_id"] != client_id:
            raise Conflict("this LinkedIn account is already connected to revOS by someone else")
        return existing  # the same notification again: nothing new
    account_id = uuid4()
    async with tx() as conn:
        # No login: the person typed it on Unipile's page. Empty ciphertexts keep the columns' shape.
        sealed = await credentials.encrypt(
            runtime, conn, client_id=client_id, account_id=account_id, creds=Credentials()
        )
        await repo.insert(
            conn,
            {
                "id": account_id,
                "client_id": client_id,
                "user_id": UUID(claims["u"]) if claims.get("u") else None,
                "account_name": default_account_name(account_id),
                **sealed,
                "status": "expired",
                "provider_status": "CONNECTING",
            },
        )
    created = AccountCreated(object="AccountCreated", account_id=note.account_id)
    return await apply_result(runtime, tx, client, account_id, created, discard_on_conflict=True)
