"""Shortcuts through the HTTP API, as a user of a tenant."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.tenant import Tenant


async def create_campaign(api: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": f"Campaign {uuid.uuid4().hex[:8]}", "trigger_words": ["GUIDE"]} | fields
    response = await api.post("/v1/campaigns", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
