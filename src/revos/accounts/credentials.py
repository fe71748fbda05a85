"""A LinkedIn account's login: stored only encrypted, bound to its row, and never shown in clear.

The login (email or phone) and the password, or the `li_at` session cookie, are sealed with two layers
(`Vault`, layers=2) in `linkedin_accounts`; text that may quote the login (a provider's error) is masked
before anyone sees it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from revos.accounts import repo
from revos.accounts.schemas import Credentials
from revos.db.pool import Conn
from revos.errors import NotFound
from revos.runtime import Runtime


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


async def encrypt(
    runtime: Runtime, conn: Conn, *, client_id: UUID, account_id: UUID, creds: Credentials
) -> dict[str, Any]:
    """The credential columns of the account's row, sealed for that row alone."""

    async def seal(column: str, value: str | dict[str, Any]) -> bytes:
        return await runtime.vault.encrypt(
            conn,
            client_id=client_id,
            table=repo.TABLE,
            column=column,
            row_id=account_id,
            value=value,
            layers=2,
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


async def decrypt(runtime: Runtime, conn: Conn, account_id: UUID) -> Credentials:
    """The account's stored login, to reconnect it (never to show it)."""
    row = await repo.credentials_of(conn, account_id)
    if row is None:
        raise NotFound("LinkedIn account not found")

    async def open_(column: str) -> str:
        return await runtime.vault.decrypt_text(
            conn,
            client_id=row["client_id"],
            table=repo.TABLE,
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


def login_kwargs(creds: Credentials) -> dict[str, Any]:
    """The login as Unipile's connect and reconnect calls take it."""
    if creds.li_at:
        return {"access_token": creds.li_at, "user_agent": creds.user_agent}
    return {"username": creds.username, "password": creds.password, "user_agent": creds.user_agent}
