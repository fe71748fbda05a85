"""Fixtures for the AI layer: the system voices, the vendors' stand-in on loopback, fast retries."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from revos.ai.standin import StandIn, serve
from revos.runtime import Runtime
from tests.support import Conn, Tenant, make_tenant

KEY = "sk-test-4f9a2c7e1b3d5a6c"
_SEED = Path(__file__).parents[2] / "supabase" / "migrations" / "20260101001900_seed_system_cartridges.sql"


def system_voices() -> dict[str, dict[str, Any]]:
    """The `voice` of the seeded system cartridges, by name."""
    text = _SEED.read_text()
    blobs = re.findall(r"\$json\$(.*?)\$json\$", text, re.S)
    return {"Professional": json.loads(blobs[0]), "Casual": json.loads(blobs[2])}


@pytest.fixture(scope="session")
def voices() -> dict[str, dict[str, Any]]:
    return system_voices()


@pytest.fixture
async def standin() -> AsyncIterator[tuple[StandIn, str]]:
    """The stand-in (accepting only KEY) on a loopback port, and its root URL."""
    fake = StandIn(api_key=KEY)
    async with serve(fake) as url:
        yield fake, url


@pytest.fixture
def fast_ai(runtime: Runtime) -> Iterator[Runtime]:
    """Short backoffs and timeouts, loopback base URLs allowed; the deployment stays offline."""
    s = runtime.settings
    saved = {k: getattr(s, k) for k in _FAST}
    for name, value in _FAST.items():
        setattr(s, name, value)
    yield runtime
    for name, value in saved.items():
        setattr(s, name, value)


_FAST: dict[str, Any] = {
    "ai_retry_base_seconds": 0.01,
    "ai_retry_max_seconds": 0.2,
    "ai_timeout_seconds": 0.5,
    "ai_retries": 2,
    "ai_allow_http_loopback": True,
    "ai_provider": "offline",
    "ai_model": None,
    "ai_base_url": None,
    "ai_api_key": None,
    "ai_monthly_token_budget": 0,
}


@pytest.fixture
async def tenant(owner: Conn, runtime: Runtime) -> Tenant:
    return await make_tenant(owner, runtime)
