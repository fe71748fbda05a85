"""Test session: one embedded PostgreSQL server, databases built from the migrations."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

# Settings are read from the environment: pin them before anything imports revos.config.
_TMP = Path(tempfile.mkdtemp(prefix="revos-t-", dir="/tmp"))  # short path: unix socket limit
os.environ.update(
    {
        "REVOS_ENV": "test",
        "REVOS_DATA_DIR": str(_TMP / "data"),
        "REVOS_MASTER_KEY": base64.b64encode(b"t" * 32).decode(),
        "REVOS_JWT_SECRET": "test-jwt-secret-that-is-long-enough-for-hs256",
    }
)
os.environ.pop("REVOS_DATABASE_URL", None)
os.environ.pop("REVOS_MASTER_KEY_PREVIOUS", None)

import httpx  # noqa: E402
import psycopg  # noqa: E402
import pytest  # noqa: E402

from revos import migrations  # noqa: E402
from revos.db.embedded import start_embedded, stop_embedded  # noqa: E402
from tests.support import with_database  # noqa: E402

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture(scope="session")
def pg_root_url() -> Iterator[str]:
    url = start_embedded(_TMP / "server", stop_at_exit=True)
    yield url
    stop_embedded(_TMP / "server")
    shutil.rmtree(_TMP, ignore_errors=True)


def create_database(root_url: str, prefix: str = "t") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(root_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return with_database(root_url, name)


def drop_database(root_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(root_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def db_url(pg_root_url: str) -> str:
    """A database with every migration applied, shared by the session."""
    url = create_database(pg_root_url, "revos")
    migrations.migrate(url)
    return url


@pytest.fixture
def empty_db_url(pg_root_url: str) -> Iterator[str]:
    url = create_database(pg_root_url, "empty")
    yield url
    drop_database(pg_root_url, url)


@pytest.fixture(scope="session")
async def runtime(db_url: str) -> AsyncIterator[object]:
    from revos.config import get_settings, reset_settings
    from revos.runtime import Runtime

    reset_settings()
    settings = get_settings()
    settings.database_url = db_url
    rt = Runtime.build(settings)
    await rt.open()
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
async def api(runtime: object) -> AsyncIterator[httpx.AsyncClient]:
    """The API over ASGI (no socket), sharing the session's runtime."""
    from revos.app import create_app

    app = create_app(runtime)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://revos.test"
    ) as client:
        yield client
