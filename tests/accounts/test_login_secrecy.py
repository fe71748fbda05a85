"""The LinkedIn login (email) is a credential: stored only encrypted, never in a response, a clear-text
column, a log line or an error message."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from psycopg import sql

from revos import migrations
from revos.db import migrate
from revos.runtime import Runtime
from revos.sim import Simulator
from tests.support import (
    Tenant,
    connect,
    headers,
    make_linkedin_account,
    make_tenant,
    read_row,
    superuser_conn,
)

LOGIN = "Ana.Secret-Login@Example.com"


def _clear_text_rows_of(db_url: str, client_id: UUID) -> str:
    """Every row of every tenant table of the client, as JSON text (bytea ciphertext shows as hex)."""
    with superuser_conn(db_url) as conn:
        tables = conn.execute(
            "select table_name from information_schema.columns where table_schema = 'public'"
            " and column_name = 'client_id' and table_name in"
            " (select table_name from information_schema.tables where table_schema = 'public'"
            "  and table_type = 'BASE TABLE')"
        ).fetchall()
        dumps = []
        for t in tables:
            query = sql.SQL(
                "select coalesce(json_agg(t)::text, '') as j from public.{} t where client_id = %s"
            )
            row = conn.execute(query.format(sql.Identifier(t["table_name"])), (client_id,)).fetchone()
            assert row is not None
            dumps.append(row["j"])
    return "\n".join(dumps)


def _revos_log_text(caplog: pytest.LogCaptureFixture) -> str:
    records = [r for r in caplog.records if r.name.startswith("revos") and not r.name.startswith("revos.sim")]
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in records)


async def test_the_login_email_is_in_no_response_no_clear_text_column_and_no_log(
    api: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    linkedin: Simulator,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    login = linkedin.add_account(username=LOGIN, password="pw", checkpoint="2FA", name="Ana Ruiz")
    h = headers(runtime, tenant)
    responses: list[httpx.Response] = []

    started = await api.post("/v1/linkedin-accounts", json={"username": LOGIN, "password": "pw"}, headers=h)
    assert started.status_code == 202, started.text
    account_id = started.json()["id"]
    assert started.json()["account_name"] == f"LinkedIn account {account_id[:8]}"
    solved = await api.post(
        f"/v1/linkedin-accounts/{account_id}/checkpoint", json={"code": login.code}, headers=h
    )
    assert solved.status_code == 200, solved.text
    # Once the profile is known, the account takes the owner's name.
    assert solved.json()["account_name"] == "Ana Ruiz"
    assert solved.json()["profile_data"]["first_name"] == "Ana"
    responses += [started, solved]
    path = f"/v1/linkedin-accounts/{account_id}"
    responses.append(await api.get("/v1/linkedin-accounts", headers=h))
    responses.append(await api.get(path, headers=h))
    responses.append(await api.patch(path, json={"timezone": "Europe/Paris"}, headers=h))
    responses.append(await api.post(f"{path}/pause", json={"reason": "holiday"}, headers=h))
    responses.append(await api.post(f"{path}/resume", headers=h))
    responses.append(await api.post(f"{path}/reconnect", headers=h))  # with the stored credentials
    responses.append(await api.post(f"{path}/checkpoint", json={"code": login.code}, headers=h))
    # A wrong password for the same login: refused, without quoting it.
    responses.append(
        await api.post("/v1/linkedin-accounts", json={"username": LOGIN, "password": "nope"}, headers=h)
    )
    for response in responses:
        assert response.status_code < 500, response.text
        assert LOGIN.lower() not in response.text.lower(), (response.request.url, response.text)
    assert responses[-1].status_code == 422

    # It is stored, encrypted: a reconnection with the stored credentials worked above.
    assert read_row(db_url, "linkedin_accounts", UUID(account_id))["linkedin_email"] is not None
    assert LOGIN.lower() not in _clear_text_rows_of(db_url, tenant.client_id).lower()
    assert LOGIN.lower() not in _revos_log_text(caplog).lower()


async def test_an_account_named_after_its_login_is_kept_under_another_name(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator, db_url: str
) -> None:
    linkedin.add_account(username=LOGIN, password="pw", name="Ana Ruiz")
    h = headers(runtime, tenant)
    created = await api.post(
        "/v1/linkedin-accounts",
        json={"username": LOGIN, "password": "pw", "account_name": LOGIN.lower()},
        headers=h,
    )
    assert created.status_code == 201, created.text
    assert created.json()["account_name"] == "Ana Ruiz"

    # Renamed after it on purpose: shown masked, enough to tell two logins apart.
    renamed = await api.patch(
        f"/v1/linkedin-accounts/{created.json()['id']}", json={"account_name": LOGIN}, headers=h
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["account_name"] == "A***@Example.com"
    assert LOGIN.lower() not in _clear_text_rows_of(db_url, tenant.client_id).lower()

    other = await api.patch(
        f"/v1/linkedin-accounts/{created.json()['id']}", json={"account_name": "Sales (Ana)"}, headers=h
    )
    assert other.json()["account_name"] == "Sales (Ana)"


async def test_two_accounts_of_one_owner_name_keep_distinct_names(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, linkedin: Simulator
) -> None:
    h = headers(runtime, tenant)
    names = []
    for _ in range(2):
        login = linkedin.add_account(password="pw", name="Jane Doe")
        created = await api.post(
            "/v1/linkedin-accounts", json={"username": login.username, "password": "pw"}, headers=h
        )
        assert created.status_code == 201, created.text
        names.append(created.json()["account_name"])
    assert names[0] == "Jane Doe"
    assert names[1].startswith("LinkedIn account ")


async def test_the_migration_scrubs_logins_kept_in_clear_by_earlier_versions(
    empty_db_url: str, tmp_path: Path
) -> None:
    scrub = "20260202000000"
    for m in migrate.discover():
        if m.version < scrub:
            shutil.copy(m.path, tmp_path / m.path.name)
    migrations.migrate(empty_db_url, tmp_path)
    profile = {"first_name": "Ana", "provider_id": "ACo1", "email": "ana@example.com"}
    async with connect(empty_db_url) as conn:
        tenant = await make_tenant(conn)
        logins = {"client_id": tenant.client_id, "user_id": tenant.user_id, "linkedin_email": b"\x01",
                  "linkedin_password": b"\x01"}  # fmt: skip
        accounts = [
            await make_linkedin_account(conn, **logins, account_name="ana@example.com", profile_data=profile),
            await make_linkedin_account(conn, **logins, account_name="+33 6 12 34 56 78"),
            await make_linkedin_account(conn, **logins, account_name="Sales team", profile_data=profile),
        ]
    by_login, by_phone, named = (account["id"] for account in accounts)

    applied = migrations.migrate(empty_db_url)
    assert [m.version for m in applied][:1] == [scrub]

    rows = {r: read_row(empty_db_url, "linkedin_accounts", r) for r in (by_login, by_phone, named)}
    assert rows[by_login]["account_name"] == f"LinkedIn account {str(by_login)[:8]}"
    assert rows[by_phone]["account_name"] == f"LinkedIn account {str(by_phone)[:8]}"
    assert rows[named]["account_name"] == "Sales team"
    for account in (by_login, named):
        assert rows[account]["profile_data"] == {"first_name": "Ana", "provider_id": "ACo1"}
    assert "ana@example.com" not in _clear_text_rows_of(empty_db_url, tenant.client_id)
