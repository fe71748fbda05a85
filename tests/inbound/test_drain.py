"""The inbox's drain: stored events wait for one drain job, which hands each to its handlers once.

A database of their own: a drain takes every waiting event, and the session's database holds other tests'."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from revos.clock import utcnow
from revos.inbound import drain, register, service, unregister
from revos.inbound import repo as inbound_repo
from revos.runtime import Runtime
from tests.queue.conftest import fast_settings, migrated_database


@pytest.fixture(scope="module")
def inbox_db_url(pg_root_url: str) -> Iterator[str]:
    with migrated_database(pg_root_url, "inbox") as url:
        yield url


@pytest.fixture(scope="module")
async def inbox(inbox_db_url: str) -> AsyncIterator[Runtime]:
    rt = Runtime.build(fast_settings(inbox_db_url))
    await rt.open()
    yield rt
    await rt.close()


def _sql(url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _account(url: str) -> tuple[UUID, UUID]:
    """A client and a LinkedIn account of it."""
    [agency] = _sql(url, "insert into agencies (name, slug) values ('a', %s) returning id", uuid4().hex)
    [client] = _sql(url, "insert into clients (agency_id, name) values (%s, 'c') returning id", agency["id"])
    [account] = _sql(
        url,
        "insert into linkedin_accounts (client_id, account_name, linkedin_email, linkedin_password,"
        " unipile_account_id) values (%s, 'x', '\\x00', '\\x00', %s) returning id",
        client["id"],
        f"u-{uuid4().hex[:10]}",
    )
    return client["id"], account["id"]


def _payload(message_id: str, text: str) -> dict[str, Any]:
    return {
        "account_id": "u-x",
        "account_type": "LINKEDIN",
        "account_info": {"type": "LINKEDIN", "user_id": "ACoAAOWNER"},
        "event": "message_received",
        "chat_id": "chat-1",
        "message_id": message_id,
        "message": text,
        "sender": {"attendee_id": "att-1", "attendee_provider_id": "ACoAALEAD"},
        "attendees": [],
    }


async def _store(rt: Runtime, client_id: UUID, account_id: UUID, n: int, text: str = "hi") -> list[UUID]:
    ids = []
    for _ in range(n):
        message = f"m-{uuid4().hex}"
        async with rt.db.service() as conn:
            event_id = await service.store(
                conn,
                client_id=client_id,
                account_id=account_id,
                source="messaging",
                key=f"message:{message}",
                payload=_payload(message, text),
            )
        assert event_id is not None
        ids.append(event_id)
    return ids


def _jobs(url: str, task: str) -> list[dict[str, Any]]:
    return _sql(
        url,
        "select status, args from procrastinate.procrastinate_jobs where task_name = %s order by id",
        task,
    )


@pytest.fixture
def handled() -> Iterator[list[UUID]]:
    """The events a messaging handler was given, in order (a message "fail" makes it fail)."""
    seen: list[UUID] = []

    async def handler(conn: Any, row: dict[str, Any], event: Any, rt: Runtime) -> None:
        if event.message == "fail":
            raise RuntimeError("the handler failed")
        seen.append(row["id"])

    register("messaging", handler)
    yield seen
    unregister("messaging", handler)


async def test_events_wait_for_one_drain_that_processes_each_once_oldest_first(
    inbox: Runtime, inbox_db_url: str, handled: list[UUID]
) -> None:
    _sql(inbox_db_url, "delete from procrastinate.procrastinate_jobs")
    client_id, account_id = _account(inbox_db_url)
    stored = await _store(inbox, client_id, account_id, 120)

    # One job waits for all of them, none per event.
    assert [j["status"] for j in _jobs(inbox_db_url, service.DRAIN_TASK)] == ["todo"]
    assert _jobs(inbox_db_url, service.PROCESS_TASK) == []

    assert await drain.drain(inbox) == 120
    assert len(handled) == 120
    assert sorted(handled) == sorted(stored)
    # Oldest first: a batch is read when the one before is done.
    assert set(handled[: drain.BATCH]) == set(stored[: drain.BATCH])
    rows = _sql(inbox_db_url, "select processed_at, error from inbound_events where id = any(%s)", stored)
    assert all(r["processed_at"] is not None and r["error"] is None for r in rows)
    # Nothing left: the next drain finds nothing and processes nothing again.
    assert await drain.drain(inbox) == 0
    assert len(handled) == 120


async def test_an_event_whose_handler_fails_gets_a_job_of_its_own_and_the_rest_go_on(
    inbox: Runtime, inbox_db_url: str, handled: list[UUID]
) -> None:
    client_id, account_id = _account(inbox_db_url)
    before = await _store(inbox, client_id, account_id, 1)
    [failing] = await _store(inbox, client_id, account_id, 1, text="fail")
    after = await _store(inbox, client_id, account_id, 1)

    assert await drain.drain(inbox) == 2
    assert set(handled) >= {*before, *after}
    assert failing not in handled
    [row] = _sql(inbox_db_url, "select processed_at, error from inbound_events where id = %s", failing)
    assert row["processed_at"] is None
    assert "the handler failed" in row["error"]
    # Retried on its own, with the queue's backoff: an `inbound.process` job for that event.
    assert [j["args"] for j in _jobs(inbox_db_url, service.PROCESS_TASK)] == [{"event_id": str(failing)}]


async def test_an_event_another_transaction_holds_is_passed_by_and_taken_by_a_later_drain(
    inbox: Runtime, inbox_db_url: str, handled: list[UUID]
) -> None:
    client_id, account_id = _account(inbox_db_url)
    held, free = await _store(inbox, client_id, account_id, 2)
    with psycopg.connect(inbox_db_url) as other:  # holds the first event's row lock until it closes
        other.execute("select 1 from inbound_events where id = %s for update", (held,))
        processed = await asyncio.wait_for(drain.drain(inbox), timeout=60)
        assert processed == 1
        assert free in handled
        assert held not in handled
    assert await drain.drain(inbox) == 1
    assert held in handled


async def test_the_sweep_reaches_events_left_waiting_and_events_that_failed_and_the_drain_only_the_first(
    inbox: Runtime, inbox_db_url: str
) -> None:
    client_id, account_id = _account(inbox_db_url)
    mine = waiting, failed, recent = await _store(inbox, client_id, account_id, 3)
    try:
        _sql(
            inbox_db_url,
            "update inbound_events set received_at = now() - interval '2 hours' where id = %s",
            failed,
        )
        _sql(
            inbox_db_url,
            "update inbound_events set received_at = now() - interval '1 hour' where id = %s",
            waiting,
        )
        _sql(inbox_db_url, "update inbound_events set error = 'RuntimeError: boom' where id = %s", failed)
        async with inbox.db.service() as conn:
            swept = await inbound_repo.unprocessed_before(conn, utcnow() - timedelta(minutes=30), 500)
            drained = await inbound_repo.fresh(conn, 500, [])
        # The sweep: both old events, the oldest first; not the one that just came.
        assert [i for i in swept if i in mine] == [failed, waiting]
        # The drain: the events waiting, oldest first; never the failed one (it has a job of its own).
        assert [i for i in drained if i in mine] == [waiting, recent]
    finally:  # nothing of this test left for another test's drain
        _sql(inbox_db_url, "update inbound_events set processed_at = now() where id = any(%s)", list(mine))
