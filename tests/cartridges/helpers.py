"""Cartridges through the API, and the tokens that write them."""

from __future__ import annotations

from typing import Any

import httpx

from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from tests.support import Tenant, read_rows


def operator_headers(runtime: Runtime, tenant: Tenant, *, operator: bool = True) -> dict[str, str]:
    """A staff token of the tenant's admin (an admin of its agency), with the operator flag."""
    claims = Claims(sub=str(tenant.user_id), agency_id=tenant.agency_id, user_role="admin", operator=operator)
    return {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}


async def create(
    api: httpx.AsyncClient, headers: dict[str, str], status: int = 201, **body: Any
) -> dict[str, Any]:
    response = await api.post("/v1/cartridges", json={"name": "Voice", **body}, headers=headers)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def system_id(db_url: str, name: str = "Professional") -> str:
    [row] = read_rows(db_url, "select id from cartridges where client_id is null and name = %s", name)
    return str(row["id"])


def snapshot(db_url: str, client_id: Any) -> list[dict[str, Any]]:
    """Every cartridge and version of a client, to show a refused request changed nothing."""
    return read_rows(
        db_url,
        "select c.id, c.version, c.voice, c.parent_cartridge_id, c.active, c.name,"
        " (select count(*) from cartridge_versions v where v.cartridge_id = c.id) as versions"
        " from cartridges c where c.client_id = %s order by c.id",
        client_id,
    )
