"""The API through PgBouncer in transaction mode (as behind Supabase's Supavisor on port 6543).

PgBouncer (Debian's) runs in front of the session's PostgreSQL with ONE server connection per database:
every client connection shares it, one transaction after another, so whatever a transaction left on its
session (a prepared statement, a role, JWT claims) would meet the next client's transaction.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from revos.app import create_app
from revos.config import get_settings
from revos.db.urls import session_url, through_transaction_pooler
from revos.errors import ConfigError
from revos.runtime import Runtime
from tests.e2e.processes import free_port
from tests.support import Tenant, connect, create_campaign, make_tenant, with_database


@pytest.fixture(scope="module")
def bouncer_url(pg_root_url: str, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's migrated database through PgBouncer in transaction mode, one server connection."""
    exe = shutil.which("pgbouncer")
    assert exe, "PgBouncer is not installed: apt-get install pgbouncer (.ci/run installs it)"
    socket_dir = parse_qs(urlsplit(pg_root_url).query)["host"][0]
    work = tmp_path_factory.mktemp("pgbouncer")
    work.chmod(0o755)
    port = free_port()
    ini = work / "pgbouncer.ini"
    ini.write_text(
        f"[databases]\n* = host={socket_dir} port=5432 user=postgres\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 1\nmax_client_conn = 100\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    ini.chmod(0o644)
    args = [exe, str(ini)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: it runs as the owner of the server's socket
        args[1:1] = ["-u", pwd.getpwuid(Path(socket_dir).stat().st_uid).pw_name]
    log = (work / "pgbouncer.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    url = with_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", urlsplit(db_url).path[1:])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(url, connect_timeout=5) as conn:
                    conn.execute("select 1")
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((work / "pgbouncer.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _query_six_times(url: str, prepare_threshold: int | None) -> None:
    with (
        psycopg.connect(url, prepare_threshold=prepare_threshold) as first,
        psycopg.connect(url, prepare_threshold=prepare_threshold) as second,
    ):
        for conn in (first, second):
            for _ in range(6):  # prepared on the server from the 6th run on (psycopg's default threshold)
                conn.execute("select count(*) from campaigns").fetchone()
                conn.commit()


def test_server_side_prepared_statements_break_through_this_pooler_and_none_are_made_without(
    bouncer_url: str,
) -> None:
    # What the setting avoids: two clients name their prepared statement alike on the one server connection.
    with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
        _query_six_times(bouncer_url, prepare_threshold=5)
    _query_six_times(bouncer_url, prepare_threshold=None)


@pytest.fixture(scope="module")
async def pooled_api(bouncer_url: str) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The API on a runtime whose pool goes through PgBouncer, saying so (REVOS_DATABASE_POOLER)."""
    settings = get_settings().model_copy(
        update={"database_url": bouncer_url, "database_pooler": "transaction", "db_pool_min": 3}
    )
    runtime = Runtime.build(settings)
    await runtime.open()
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://revos.test") as api:
        yield runtime, api
    await runtime.close()


async def test_the_api_through_pgbouncer_creates_lists_and_keeps_each_client_to_its_own_rows(
    pooled_api: tuple[Runtime, httpx.AsyncClient], db_url: str
) -> None:
    runtime, api = pooled_api
    async with connect(db_url) as conn:
        first = await make_tenant(conn, runtime)
        second = await make_tenant(conn, runtime)
    made = [await create_campaign(api, first) for _ in range(3)]

    async def names(tenant: Tenant) -> set[str]:
        response = await api.get("/v1/campaigns", headers=tenant.headers)
        assert response.status_code == 200, response.text
        return {c["name"] for c in response.json()["items"]}

    async def leads(tenant: Tenant) -> list[Any]:
        response = await api.get("/v1/leads", headers=tenant.headers)
        assert response.status_code == 200, response.text
        items: list[Any] = response.json()["items"]
        return items

    # Many requests at once, both clients interleaved on the pool's connections and PgBouncer's single
    # server connection: each sees exactly its own campaigns (the JWT claims are set per transaction).
    reads = await asyncio.gather(*(names(t) for _ in range(8) for t in (first, second)))
    assert all(seen == {c["name"] for c in made} for seen in reads[0::2])
    assert all(seen == set() for seen in reads[1::2])
    assert await asyncio.gather(*(leads(t) for t in (first, second) for _ in range(4))) == [[]] * 8
    other = await create_campaign(api, second)
    assert await names(second) == {other["name"]}
    assert other["name"] not in await names(first)


def test_a_transaction_pooler_is_recognised_and_sessions_need_a_direct_url() -> None:
    base = get_settings()
    supavisor = "postgresql://postgres.ref:pw@aws-0-eu.pooler.supabase.com:6543/postgres"
    assert through_transaction_pooler(base.model_copy(update={"database_url": supavisor}))
    assert not through_transaction_pooler(
        base.model_copy(update={"database_url": supavisor.replace("6543", "5432")})
    )
    assert not through_transaction_pooler(
        base.model_copy(update={"database_url": supavisor, "database_pooler": "session"})
    )
    pooled = base.model_copy(update={"database_url": supavisor})
    with pytest.raises(ConfigError, match="REVOS_DATABASE_DIRECT_URL"):
        session_url(pooled)
    direct = "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres"
    assert session_url(pooled.model_copy(update={"database_direct_url": direct})) == direct
