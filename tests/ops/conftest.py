"""A database of this folder's own (one for the folder): retention and restores touch every client's rows, so they never run on
the session's shared database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from revos import migrations
from revos.db.pool import Database
from tests.conftest import create_database, drop_database


@pytest.fixture(scope="package")
def ops_url(pg_root_url: str) -> AsyncIterator[str]:
    url = create_database(pg_root_url, "ops")
    migrations.migrate(url)
    yield url
    drop_database(pg_root_url, url)


@pytest.fixture(scope="package")
async def ops_db(ops_url: str) -> AsyncIterator[Database]:
    db = Database(ops_url, max_size=4)
    await db.open()
    yield db
    await db.close()
