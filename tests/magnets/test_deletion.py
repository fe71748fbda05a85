"""What is deleted is gone: a deleted client's lead-magnet files, and a deleted magnet's file, even when the
process dies right after the delete commits; and nothing is removed when the delete rolls back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from revos.magnets import service as magnets
from revos.magnets.storage import local_root
from revos.queue.worker import QueueWorker
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from revos.tenancy import service as tenancy
from tests.support import PDF, PNG, Conn, Tenant, make_tenant, superuser_conn


@dataclass
class Uploads:
    api: httpx.AsyncClient
    runtime: Runtime
    db_url: str

    async def __call__(self, tenant: Tenant, data: bytes, filename: str) -> Path:
        """Upload through the API; the path of the stored file."""
        response = await self.api.post(
            "/v1/lead-magnets",
            files=[("file", (filename, data, "application/octet-stream"))],
            headers=tenant.headers,
        )
        assert response.status_code == 201, response.text
        with superuser_conn(self.db_url) as conn:
            row = conn.execute(
                "select file_path from lead_magnets where id = %s", (response.json()["id"],)
            ).fetchone()
        assert row is not None
        return local_root(self.runtime.settings) / row["file_path"]


@pytest.fixture
def upload(api: httpx.AsyncClient, runtime: Runtime, db_url: str) -> Uploads:
    return Uploads(api, runtime, db_url)


@pytest.fixture
async def agency(owner: Conn, db_url: str) -> tuple[UUID, UUID]:
    """An agency and one of its staff (a user of a client that is never deleted here)."""
    home = await make_tenant(owner)
    return home.agency_id, home.user_id


def _staff_headers(runtime: Runtime, agency: tuple[UUID, UUID]) -> dict[str, str]:
    agency_id, user_id = agency
    claims = Claims.model_validate({"sub": str(user_id), "agency_id": str(agency_id), "user_role": "admin"})
    return {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}


WaitUntil = Callable[[Callable[[], bool]], Awaitable[None]]


@pytest.fixture
async def magnet_worker(runtime: Runtime) -> AsyncIterator[WaitUntil]:
    """A worker on the lead-magnet queue, running while the test waits for `done()` (20 s at most)."""
    worker = QueueWorker(runtime, queues=["magnets"], periodic=False)
    running = asyncio.ensure_future(worker.run())

    async def wait_until(done: Callable[[], bool]) -> None:
        async with asyncio.timeout(20):
            await worker.wait_running()
            while not done():  # noqa: ASYNC110 - files on disk: nothing to wait on but the disk
                await asyncio.sleep(0.05)

    try:
        yield wait_until
    finally:
        worker.stop()
        async with asyncio.timeout(15):
            await running


def _pending_jobs(db_url: str, task: str, client_id: UUID) -> int:
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "select count(*) as n from procrastinate.procrastinate_jobs"
            " where task_name = %s and args ->> 'client_id' = %s and status = 'todo'",
            (task, str(client_id)),
        ).fetchone()
    assert row is not None
    return int(row["n"])


async def test_deleting_a_client_removes_its_files_and_no_one_elses(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    db_url: str,
    agency: tuple[UUID, UUID],
    upload: Uploads,
    magnet_worker: WaitUntil,
) -> None:
    leaving, staying = (
        await make_tenant(owner, runtime, agency_id=agency[0]),
        await make_tenant(owner, runtime, agency_id=agency[0]),
    )
    gone = [await upload(leaving, PDF, "guide.pdf"), await upload(leaving, PNG, "cover.png")]
    kept = await upload(staying, PDF, "guide.pdf")
    assert all(p.exists() for p in [*gone, kept])

    response = await api.delete(f"/v1/clients/{leaving.client_id}", headers=_staff_headers(runtime, agency))
    assert response.status_code == 204, response.text

    folder = local_root(runtime.settings) / str(leaving.client_id)
    await magnet_worker(lambda: not folder.exists())
    assert not any(p.exists() for p in gone)
    assert kept.read_bytes() == PDF
    assert len((await api.get("/v1/lead-magnets", headers=staying.headers)).json()["items"]) == 1


async def test_a_client_delete_that_rolls_back_removes_nothing(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    db_url: str,
    agency: tuple[UUID, UUID],
    upload: Uploads,
    magnet_worker: WaitUntil,
) -> None:
    kept_client, deleted_client = (
        await make_tenant(owner, runtime, agency_id=agency[0]),
        await make_tenant(owner, runtime, agency_id=agency[0]),
    )
    kept = await upload(kept_client, PDF, "guide.pdf")
    deleted = await upload(deleted_client, PDF, "guide.pdf")

    staff = {"sub": str(agency[1]), "agency_id": str(agency[0]), "user_role": "admin"}

    async def delete_then_fail() -> None:
        async with runtime.db.tenant(staff) as conn:
            await tenancy.delete_client(conn, kept_client.client_id)
            raise RuntimeError("something failed after the delete, in the same request")

    with pytest.raises(RuntimeError, match="after the delete"):
        await delete_then_fail()
    assert _pending_jobs(db_url, "magnets.delete_client_files", kept_client.client_id) == 0

    # Progress marker: the worker has handled a real client delete queued after the rolled-back one.
    response = await api.delete(
        f"/v1/clients/{deleted_client.client_id}", headers=_staff_headers(runtime, agency)
    )
    assert response.status_code == 204
    await magnet_worker(lambda: not deleted.exists())
    assert kept.read_bytes() == PDF
    listed = await api.get("/v1/lead-magnets", headers=kept_client.headers)
    assert len(listed.json()["items"]) == 1


async def test_a_deleted_magnets_file_goes_even_if_the_process_dies_after_the_commit(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    db_url: str,
    agency: tuple[UUID, UUID],
    upload: Uploads,
    magnet_worker: WaitUntil,
) -> None:
    tenant = await make_tenant(owner, runtime, agency_id=agency[0])
    path = await upload(tenant, PDF, "guide.pdf")
    with superuser_conn(db_url) as conn:
        row = conn.execute("select id from lead_magnets where client_id = %s", (tenant.client_id,)).fetchone()
    assert row is not None

    claims = {"sub": str(tenant.user_id), "client_id": str(tenant.client_id), "user_role": "admin"}
    async with runtime.db.tenant(claims) as conn:
        await magnets.delete_magnet(conn, row["id"])
    # Committed, and the request that would now remove the file never gets to: the queued job does.
    assert path.exists()
    await magnet_worker(lambda: not path.exists())


async def test_deleting_an_unknown_client_is_404_and_queues_nothing(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: tuple[UUID, UUID]
) -> None:
    missing = uuid.uuid4()
    response = await api.delete(f"/v1/clients/{missing}", headers=_staff_headers(runtime, agency))
    assert response.status_code == 404
    assert _pending_jobs(db_url, "magnets.delete_client_files", missing) == 0
