"""The one notion of a tenant in tests: a client of an agency, with its admin user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from revos.clock import SystemClock, set_clock
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from tests.support.rows import Conn, make_client, make_user


@dataclass
class Tenant:
    """A client of agency `agency_id` and its user `user_id`. `headers` sign in as that user through the API
    (when the tenant was made with a runtime); `label` and `ids` (rows made for it, by table) are for the
    seeded worlds of the schema tests."""

    agency_id: UUID
    client_id: UUID
    user_id: UUID
    headers: dict[str, str] = field(default_factory=dict)
    label: str = ""
    ids: dict[str, Any] = field(default_factory=dict)

    def claims(self, **extra: Any) -> dict[str, Any]:
        """JWT claims as the database sees them for a member of this client (see tests.support.tenant_conn)."""
        return {"sub": str(self.user_id), "role": "authenticated", "client_id": str(self.client_id),
                "user_role": "member", **extra}  # fmt: skip


def token_headers(runtime: Runtime, user_id: UUID, client_id: UUID, role: str = "admin") -> dict[str, str]:
    """A bearer token for `user_id` of `client_id` with `role`."""
    claims = Claims.model_validate({"sub": str(user_id), "client_id": str(client_id), "user_role": role})
    # Tokens are checked against wall time; the tests' ManualClock may live in another year.
    previous = set_clock(SystemClock())
    try:
        return {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}
    finally:
        set_clock(previous)


def headers(runtime: Runtime, tenant: Tenant, role: str = "admin") -> dict[str, str]:
    """A bearer token for the tenant's user, with `role`."""
    return token_headers(runtime, tenant.user_id, tenant.client_id, role)


async def make_tenant(
    conn: Conn, runtime: Runtime | None = None, *, role: str = "admin", agency_id: UUID | None = None
) -> Tenant:
    """A client (of a new agency unless `agency_id` is given) and a user with `role`; with `runtime`, the
    tenant carries that user's bearer token."""
    client = await make_client(conn, **({"agency_id": agency_id} if agency_id else {}))
    user = await make_user(conn, client_id=client["id"], role=role)
    tenant = Tenant(client["agency_id"], client["id"], user["id"])
    if runtime is not None:
        tenant.headers = token_headers(runtime, user["id"], client["id"], role)
    return tenant
