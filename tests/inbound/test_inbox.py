"""POST /hooks/unipile and the inbox: authenticated, stored once per provider id, handed to handlers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from revos.accounts.provider import unipile_webhook_secret
from revos.inbound import process_event, record_polled_message, register, unregister
from revos.linkedin import WEBHOOK_SECRET_HEADER, Message
from revos.runtime import Runtime
from revos.sim import Simulator
from tests.support import (
    Conn,
    Tenant,
    connect_account,
    headers,
    make_linkedin_account,
    process_inbox,
    read_row,
    superuser_conn,
)


def _events(db_url: str, account_id: UUID) -> list[dict[str, Any]]:
    with superuser_conn(db_url) as conn:
        return conn.execute(
            "select * from inbound_events where linkedin_account_id = %s order by received_at", (account_id,)
        ).fetchall()


def _message_payload(
    unipile_id: str, message_id: str, text: str = "jane (at) acme (dot) com"
) -> dict[str, Any]:
    return {
        "account_id": unipile_id,
        "account_type": "LINKEDIN",
        "account_info": {"type": "LINKEDIN", "feature": "classic", "user_id": "ACoAAOWNER"},
        "event": "message_received",
        "chat_id": "chat-1",
        "timestamp": "2026-01-05T09:00:00.000Z",
        "message_id": message_id,
        "message": text,
        "sender": {"attendee_id": "att-1", "attendee_provider_id": "ACoAALEAD", "attendee_name": "Lee"},
        "attendees": [],
    }


def _secret(runtime: Runtime) -> dict[str, str]:
    return {WEBHOOK_SECRET_HEADER: unipile_webhook_secret(runtime.settings)}


@pytest.mark.parametrize(
    "secret_headers",
    [{}, {WEBHOOK_SECRET_HEADER: "wrong"}, {"X-Other": "x"}],
    ids=["missing", "wrong-secret", "other-header"],
)
async def test_a_webhook_without_the_secret_gets_401_and_nothing_is_stored(
    owner: Conn,
    api: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    db_url: str,
    secret_headers: dict[str, str],
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]
    response = await api.post(
        "/hooks/unipile", content=json.dumps(_message_payload(unipile_id, "m1")), headers=secret_headers
    )
    assert response.status_code == 401
    assert _events(db_url, account_id) == []


async def test_a_redelivered_webhook_is_stored_and_handled_once(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]
    seen: list[str] = []

    async def on_message(conn: Any, row: dict[str, Any], event: Any, rt: Runtime) -> None:
        if row["linkedin_account_id"] == account_id:
            seen.append(event.message_id)

    register("messaging", on_message)
    try:
        body = json.dumps(_message_payload(unipile_id, f"msg-{uuid4().hex[:8]}"))
        first = await api.post("/hooks/unipile", content=body, headers=_secret(runtime))
        again = await api.post("/hooks/unipile", content=body, headers=_secret(runtime))
        assert first.status_code == again.status_code == 200
        assert first.json()["status"] == "accepted"
        assert again.json()["status"] == "duplicate"
        events = _events(db_url, account_id)
        assert len(events) == 1
        assert events[0]["event_key"].startswith("message:msg-")
        assert events[0]["client_id"] == tenant.client_id
        assert events[0]["source"] == "messaging"
        await process_inbox(runtime, account_id)
        assert await process_event(runtime, events[0]["id"]) == "already"
        assert len(seen) == 1
    finally:
        unregister("messaging", on_message)


async def test_a_polled_message_and_its_webhook_land_once_with_the_same_key(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]
    message_id = f"msg-{uuid4().hex[:8]}"
    polled = Message.model_validate(
        {
            "id": message_id,
            "account_id": unipile_id,
            "chat_id": "chat-1",
            "sender_id": "ACoAALEAD",
            "text": "jane@acme.com",
            "attachments": [],
            "timestamp": datetime(2026, 1, 5, 9, tzinfo=UTC),
            "is_sender": 0,
        }
    )
    async with runtime.db.service() as conn:
        first = await record_polled_message(
            conn, client_id=tenant.client_id, account_id=account_id, message=polled
        )
        again = await record_polled_message(
            conn, client_id=tenant.client_id, account_id=account_id, message=polled
        )
    assert first is not None
    assert again is None
    late_webhook = await api.post(
        "/hooks/unipile",
        content=json.dumps(_message_payload(unipile_id, message_id)),
        headers=_secret(runtime),
    )
    assert late_webhook.json()["status"] == "duplicate"
    assert [e["event_key"] for e in _events(db_url, account_id)] == [f"message:{message_id}"]


async def test_webhooks_for_unknown_accounts_and_unreadable_bodies(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    unknown = await api.post(
        "/hooks/unipile", content=json.dumps(_message_payload("nobody", "m-x")), headers=_secret(runtime)
    )
    assert unknown.status_code == 200
    assert unknown.json()["status"] == "ignored"
    garbage = await api.post("/hooks/unipile", content=b'{"hello": 1}', headers=_secret(runtime))
    assert garbage.status_code == 400


async def test_a_failing_handler_leaves_the_event_for_a_retry(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]
    attempts: list[int] = []

    async def flaky(conn: Any, row: dict[str, Any], event: Any, rt: Runtime) -> None:
        if row["linkedin_account_id"] != account_id:
            return
        attempts.append(1)
        await conn.execute("update linkedin_accounts set last_sync_at = now() where id = %s", (account_id,))
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")

    register("messaging", flaky)
    try:
        await api.post(
            "/hooks/unipile",
            content=json.dumps(_message_payload(unipile_id, f"m-{uuid4().hex}")),
            headers=_secret(runtime),
        )
        event = _events(db_url, account_id)[0]
        with pytest.raises(RuntimeError):
            await process_event(runtime, event["id"])
        failed = _events(db_url, account_id)[0]
        assert failed["processed_at"] is None
        assert "database hiccup" in failed["error"]
        assert (
            read_row(db_url, "linkedin_accounts", account_id)["last_sync_at"] is None
        )  # the handler's write rolled back
        assert await process_event(runtime, event["id"]) == "processed"
        assert _events(db_url, account_id)[0]["error"] is None
    finally:
        unregister("messaging", flaky)


async def test_a_disconnection_webhook_pauses_the_account_and_reconnection_resumes_it(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    account = await connect_account(api, runtime, tenant, linkedin)
    await linkedin.settle()
    await process_inbox(runtime, account.id)  # CREATION_SUCCESS / OK of the connection itself
    assert read_row(db_url, "linkedin_accounts", account.id)["status"] == "active"

    linkedin.disconnect(account.unipile_account_id)  # LinkedIn ends the session
    await linkedin.settle()
    assert await process_inbox(runtime, account.id) >= 1
    row = read_row(db_url, "linkedin_accounts", account.id)
    assert row["status"] == "expired"
    assert row["provider_status"] == "CREDENTIALS"
    assert row["pause_source"] == "disconnected"
    assert "reconnect" in row["pause_reason"]

    reconnected = await api.post(
        f"/v1/linkedin-accounts/{account.id}/reconnect", headers=headers(runtime, tenant)
    )
    assert reconnected.status_code == 200, reconnected.text
    await linkedin.settle()
    await process_inbox(runtime, account.id)
    row = read_row(db_url, "linkedin_accounts", account.id)
    assert row["status"] == "active"
    assert row["paused_at"] is None


async def test_an_ok_status_webhook_resumes_a_provider_pause_but_not_a_manual_one(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]

    async def status(message: str) -> None:
        body = {"AccountStatus": {"account_id": unipile_id, "account_type": "LINKEDIN", "message": message}}
        response = await api.post("/hooks/unipile", content=json.dumps(body), headers=_secret(runtime))
        assert response.status_code == 200
        await process_inbox(runtime, account_id)

    await status("ERROR")
    row = read_row(db_url, "linkedin_accounts", account_id)
    assert row["status"] == "error"
    assert row["pause_source"] == "provider_error"
    await status("OK")
    row = read_row(db_url, "linkedin_accounts", account_id)
    assert row["status"] == "active"
    assert row["paused_at"] is None

    paused = await api.post(
        f"/v1/linkedin-accounts/{account_id}/pause", json={}, headers=headers(runtime, tenant)
    )
    assert paused.status_code == 200
    await status("RECONNECTED")
    assert read_row(db_url, "linkedin_accounts", account_id)["pause_source"] == "manual"


async def test_status_redeliveries_are_duplicates_but_flapping_is_followed_in_order(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]

    async def deliver(message: str) -> str:
        body = {"AccountStatus": {"account_id": unipile_id, "account_type": "LINKEDIN", "message": message}}
        response = await api.post("/hooks/unipile", content=json.dumps(body), headers=_secret(runtime))
        return str(response.json()["status"])

    assert [await deliver(m) for m in ("CREDENTIALS", "CREDENTIALS", "OK", "CREDENTIALS", "OK")] == [
        "accepted",
        "duplicate",
        "accepted",
        "accepted",
        "accepted",
    ]
    # Processed in any order, the latest status wins.
    ids = [e["id"] for e in _events(db_url, account_id)]
    for event_id in reversed(ids):
        await process_event(runtime, event_id)
    row = read_row(db_url, "linkedin_accounts", account_id)
    assert row["status"] == "active"
    assert row["paused_at"] is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "message_received", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"event=message_received&account_id=a&attendees=" + b"[" * 50_000,
        b'{"event": "message_received", "account_id": "a", "n": NaN}',
        b"{" + b'"k": 1,' * 10,
    ],
    ids=["json-nested-100k", "form-field-nested-50k", "nan", "truncated"],
)
async def test_an_unreadable_webhook_is_a_400_and_nothing_is_stored(
    api: httpx.AsyncClient, runtime: Runtime, body: bytes
) -> None:
    resp = await api.post("/hooks/unipile", content=body, headers=_secret(runtime))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "bad_request"


@pytest.mark.parametrize(
    "text", ["nul \u0000 inside", "lone \ud800 surrogate"], ids=["nul", "lone-surrogate"]
)
async def test_a_message_that_cannot_be_stored_is_recorded_as_rejected_not_retried(
    owner: Conn, api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, db_url: str, text: str
) -> None:
    unipile_id = f"u-{uuid4().hex[:10]}"
    account_id = (
        await make_linkedin_account(owner, client_id=tenant.client_id, unipile_account_id=unipile_id)
    )["id"]
    message_id = f"m-{uuid4().hex[:8]}"
    body = json.dumps(_message_payload(unipile_id, message_id, text=text)).encode()
    for _ in range(2):  # Unipile's retry of the same delivery is answered the same way
        resp = await api.post("/hooks/unipile", content=body, headers=_secret(runtime))
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == "rejected"
    [event] = _events(db_url, account_id)
    assert event["processed_at"] is not None  # never handed to the handlers, never swept again
    assert event["error"].startswith("rejected: text holds")
    assert "\ufffd" in event["payload"]["message"]


async def test_a_polled_message_that_cannot_be_stored_is_recorded_as_rejected(
    owner: Conn, runtime: Runtime, tenant: Tenant, db_url: str
) -> None:
    account_id = (
        await make_linkedin_account(
            owner, client_id=tenant.client_id, unipile_account_id=f"u-{uuid4().hex[:10]}"
        )
    )["id"]
    message = Message.model_validate(
        {
            "id": f"m-{uuid4().hex[:8]}",
            "chat_id": "chat-9",
            "account_id": "x",
            "text": "reply \u0000 with nul",
            "timestamp": "2026-01-05T09:00:00.000Z",
            "sender_id": "ACoAALEAD",
            "is_sender": 0,
            "attachments": [],
        }
    )
    async with runtime.db.service() as conn:
        stored = await record_polled_message(
            conn, client_id=tenant.client_id, account_id=account_id, message=message
        )
    assert stored is None
    [event] = _events(db_url, account_id)
    assert event["error"].startswith("rejected:")
