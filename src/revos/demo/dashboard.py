"""The demo's dashboard login: the demo admin gets a fresh random password each run (revos.identity)."""

from __future__ import annotations

import secrets
from uuid import UUID

from revos.identity import service as identity
from revos.runtime import Runtime
from revos.tenancy.bootstrap import DEMO_ADMIN


async def login(runtime: Runtime, user_id: UUID) -> tuple[str, str]:
    """(email, password) of the demo admin, whose previous password and sessions are replaced."""
    password = secrets.token_urlsafe(15)
    async with runtime.db.service(actor="demo-dashboard") as conn:
        await identity.set_password(conn, runtime.settings, user_id, password)
    return DEMO_ADMIN, password


def lines(base: str, email: str, password: str) -> list[str]:
    return [f"dashboard:      {base}/app/", f"demo login:     {email} / {password}"]
