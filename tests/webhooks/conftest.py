"""Fixtures for webhook tests: tenants with tokens, leads in campaigns, local receivers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from revos.runtime import Runtime
from revos.security import jwt as jwt_tokens
from tests.helpers import superuser_conn
from tests.webhooks.receiver import Receiver


@dataclass
class Tenant:
    client_id: uuid.UUID
    user_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(autouse=True)
def loopback_allowed(runtime: Runtime) -> Iterator[None]:
    """Tests receive on 127.0.0.1 over plain http: the dev/test setting allows exactly that."""
    previous = runtime.settings.webhook_allow_http_loopback
    runtime.settings.webhook_allow_http_loopback = True
    yield
    runtime.settings.webhook_allow_http_loopback = previous


def make_tenant(db_url: str, runtime: Runtime, role: str = "admin") -> Tenant:
    tag = uuid.uuid4().hex[:10]
    with superuser_conn(db_url) as conn:
        agency = conn.execute(
            "insert into agencies (name, slug) values (%s, %s) returning id", (f"A {tag}", f"a-{tag}")
        ).fetchone()
        assert agency
        client = conn.execute(
            "insert into clients (agency_id, name) values (%s, %s) returning id", (agency["id"], f"C {tag}")
        ).fetchone()
        assert client
        user = conn.execute(
            "insert into users (client_id, email, role) values (%s, %s, %s) returning id",
            (client["id"], f"u-{tag}@example.com", role),
        ).fetchone()
        assert user
    claims = jwt_tokens.Claims(sub=str(user["id"]), client_id=client["id"], user_role=role)  # type: ignore[arg-type]
    return Tenant(client["id"], user["id"], jwt_tokens.issue(claims, runtime.jwt_secret))


@pytest.fixture
def tenant(db_url: str, runtime: Runtime) -> Tenant:
    return make_tenant(db_url, runtime)


def make_lead(
    db_url: str,
    client_id: uuid.UUID,
    *,
    config_id: uuid.UUID | None,
    status: str = "email_captured",
    **fields: Any,
) -> uuid.UUID:
    tag = uuid.uuid4().hex[:10]
    with superuser_conn(db_url) as conn:
        campaign = conn.execute(
            "insert into campaigns (client_id, name, trigger_word, webhook_config_id)"
            " values (%s, %s, 'GUIDE', %s) returning id",
            (client_id, f"Campaign {tag}", config_id),
        ).fetchone()
        assert campaign
        values = {
            "client_id": client_id,
            "campaign_id": campaign["id"],
            "linkedin_id": f"li-{tag}",
            "email": f"lead-{tag}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "status": status,
        } | fields
        cols = ", ".join(values)
        lead = conn.execute(
            f"insert into leads ({cols}) values ({', '.join(['%s'] * len(values))}) returning id",
            list(values.values()),
        ).fetchone()
        assert lead
    return lead["id"]


def lead_status(db_url: str, lead_id: uuid.UUID) -> str:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select status from leads where id = %s", (lead_id,)).fetchone()
    assert row
    return str(row["status"])


def delivery_row(db_url: str, delivery_id: uuid.UUID) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select * from webhook_deliveries where id = %s", (delivery_id,)).fetchone()
    assert row
    return row


def config_row(db_url: str, config_id: uuid.UUID) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        row = conn.execute("select * from webhook_configs where id = %s", (config_id,)).fetchone()
    assert row
    return row


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r
