"""Create (or find) a demo agency, client and admin user; used by `revos demo`."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from revos.db import crud
from revos.db.pool import Database
from revos.security import jwt as jwt_tokens
from revos.tenancy import repo, service

DEMO_ADMIN = "admin@demo.example.com"


@dataclass(frozen=True)
class DemoTenant:
    agency_id: UUID
    client_id: UUID
    user_id: UUID
    admin_jwt: str
    api_key: str


async def ensure_demo_tenant(db: Database, jwt_secret: str, *, ttl_seconds: int = 86400) -> DemoTenant:
    async with db.service(actor="demo-bootstrap") as conn:
        agency_id = await repo.agency_id_by_slug(conn, "demo")
        if agency_id is None:
            agency_id = (await service.create_agency(conn, name="Demo Agency", slug="demo"))["id"]
        client_id = await repo.client_id_named(conn, agency_id, "Demo Client")
        if client_id is None:
            client = {
                "agency_id": agency_id,
                "name": "Demo Client",
                "company_name": "Demo Client Ltd",
                "industry": "B2B software",
                "website": "https://example.com",
            }
            client_id = (await crud.insert(conn, "clients", client))["id"]
        user_id = await repo.user_id_by_email(conn, DEMO_ADMIN)
        if user_id is None:
            user = {"client_id": client_id, "email": DEMO_ADMIN, "first_name": "Avery", "last_name": "Admin"}
            user_id = (await crud.insert(conn, "users", {**user, "role": "admin"}))["id"]
        _, api_key = await service.create_api_key(
            conn, client_id=client_id, name="demo key", role="admin", created_by=user_id
        )
    claims = jwt_tokens.Claims(sub=str(user_id), agency_id=agency_id, user_role="admin")
    token = jwt_tokens.issue(claims, jwt_secret, ttl_seconds=ttl_seconds)
    return DemoTenant(agency_id, client_id, user_id, token, api_key)
