"""Create (or find) a demo agency, client and admin user; used by `revos demo`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from revos.db.pool import Database
from revos.security import jwt as jwt_tokens
from revos.tenancy import service


@dataclass(frozen=True)
class DemoTenant:
    agency_id: UUID
    client_id: UUID
    user_id: UUID
    admin_jwt: str
    api_key: str


async def _one(conn: Any, query: str, params: tuple[Any, ...]) -> Any:
    row = await (await conn.execute(query, params)).fetchone()
    return row["id"] if row else None


async def ensure_demo_tenant(db: Database, jwt_secret: str, *, ttl_seconds: int = 86400) -> DemoTenant:
    async with db.service(actor="demo-bootstrap") as conn:
        agency_id = await _one(conn, "select id from agencies where slug = %s", ("demo",))
        if agency_id is None:
            agency_id = (await service.create_agency(conn, name="Demo Agency", slug="demo"))["id"]
        client_id = await _one(
            conn, "select id from clients where agency_id = %s and name = %s", (agency_id, "Demo Client")
        )
        if client_id is None:
            row = await conn.execute(
                "insert into clients (agency_id, name, company_name, industry, website)"
                " values (%s, 'Demo Client', 'Demo Client Ltd', 'B2B software', 'https://example.com')"
                " returning id",
                (agency_id,),
            )
            client_id = (await row.fetchone())["id"]  # type: ignore[index]
        user_id = await _one(conn, "select id from users where email = %s", ("admin@demo.example.com",))
        if user_id is None:
            row = await conn.execute(
                "insert into users (client_id, email, first_name, last_name, role)"
                " values (%s, 'admin@demo.example.com', 'Avery', 'Admin', 'admin') returning id",
                (client_id,),
            )
            user_id = (await row.fetchone())["id"]  # type: ignore[index]
        _, api_key = await service.create_api_key(
            conn, client_id=client_id, name="demo key", role="admin", created_by=user_id
        )
    claims = jwt_tokens.Claims(sub=str(user_id), agency_id=agency_id, user_role="admin")
    token = jwt_tokens.issue(claims, jwt_secret, ttl_seconds=ttl_seconds)
    return DemoTenant(agency_id, client_id, user_id, token, api_key)
