from __future__ import annotations

import base64
import os
import uuid

import pytest

from revos import migrations
from revos.db.pool import Database
from revos.runtime import Runtime
from revos.security.crypto import DecryptionError, Keyring, aad_for, generate_master_key, open_sealed, seal
from revos.security.vault import Vault
from tests.support import Conn, connect, make_tenant, superuser_conn


def test_sealed_value_opens_only_with_its_key_and_binding() -> None:
    key, other = os.urandom(32), os.urandom(32)
    aad = aad_for("linkedin_accounts", "linkedin_password", uuid.uuid4())
    sealed = seal(key, 1, b"hunter2", aad)

    assert open_sealed(key, sealed, aad) == b"hunter2"
    with pytest.raises(DecryptionError):
        open_sealed(other, sealed, aad)
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed, aad_for("linkedin_accounts", "linkedin_email", uuid.uuid4()))
    with pytest.raises(DecryptionError):
        open_sealed(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), aad)
    with pytest.raises(DecryptionError, match="truncated"):
        open_sealed(key, sealed[:10], aad)


def test_master_key_must_be_32_random_bytes() -> None:
    from revos.errors import ConfigError

    with pytest.raises(ConfigError):
        Keyring(base64.b64encode(b"short").decode())
    with pytest.raises(ConfigError):
        Keyring("not base64 at all!")
    Keyring(generate_master_key())


async def test_round_trip_in_a_tenant_transaction_and_binding_to_the_row(
    owner: Conn, runtime: Runtime, db_url: str
) -> None:
    tenant = await make_tenant(owner)
    row_id = uuid.uuid4()
    claims = {"sub": str(tenant.user_id), "role": "authenticated", "client_id": str(tenant.client_id)}
    target = {"client_id": tenant.client_id, "table": "linkedin_accounts", "column": "linkedin_password"}
    async with runtime.db.tenant(claims) as conn:
        sealed = await runtime.vault.encrypt(conn, **target, row_id=row_id, value="s3cret-pass", layers=2)
        assert b"s3cret-pass" not in sealed
        plain = await runtime.vault.decrypt(conn, **target, row_id=row_id, ciphertext=sealed, layers=2)
        assert plain == b"s3cret-pass"
        with pytest.raises(DecryptionError):
            await runtime.vault.decrypt(conn, **target, row_id=uuid.uuid4(), ciphertext=sealed, layers=2)
        # Removing only the outer layer leaves the inner ciphertext, not the password.
        outer_only = await runtime.vault.decrypt(conn, **target, row_id=row_id, ciphertext=sealed, layers=1)
        assert b"s3cret-pass" not in outer_only
    with superuser_conn(db_url) as conn:
        purposes = {
            r["purpose"]
            for r in conn.execute(
                "select purpose from encryption_keys where client_id = %s", (tenant.client_id,)
            ).fetchall()
        }
    assert purposes == {"data", "credentials"}


async def test_a_tenant_cannot_reach_another_clients_keys(owner: Conn, runtime: Runtime, db_url: str) -> None:
    import psycopg

    a, b = await make_tenant(owner), await make_tenant(owner)
    async with runtime.db.service() as conn:
        await runtime.vault.active_key(conn, b.client_id)
    claims_a = {"sub": str(a.user_id), "role": "authenticated", "client_id": str(a.client_id)}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with runtime.db.tenant(claims_a) as conn:
            await conn.execute("select * from public.revos_data_keys(%s, 'data')", (b.client_id,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with runtime.db.tenant(claims_a) as conn:
            await conn.execute("select * from encryption_keys")


async def test_master_key_rotation_rewraps_every_data_key_and_loses_nothing(empty_db_url: str) -> None:
    # Its own database: rotation re-wraps every data key there is.
    migrations.migrate(empty_db_url)
    db_url = empty_db_url
    async with Database(db_url) as db, connect(db_url) as owner:
        await _rotate_and_check(owner, db, db_url)


async def _rotate_and_check(owner: Conn, db: Database, db_url: str) -> None:
    old_key, new_key = generate_master_key(), generate_master_key()
    old_vault = Vault(Keyring(old_key))
    tenants = [await make_tenant(owner) for _ in range(3)]
    sealed = {}
    async with db.service() as conn:
        for t in tenants:
            sealed[t.client_id] = await old_vault.encrypt(
                conn,
                client_id=t.client_id,
                table="webhook_configs",
                column="secret",
                row_id=t.client_id,
                value=f"whsec_{t.client_id}",
            )

    rotating = Vault(Keyring(new_key, previous=[old_key]))
    total = 0
    while True:
        async with db.service() as conn:
            done = await rotating.rotate_master(conn, batch=2)
        total += done
        if done == 0:
            break
    assert total >= 3

    new_only = Vault(Keyring(new_key))
    async with db.service() as conn:
        for t in tenants:
            plain = await new_only.decrypt(
                conn,
                client_id=t.client_id,
                table="webhook_configs",
                column="secret",
                row_id=t.client_id,
                ciphertext=sealed[t.client_id],
            )
            assert plain == f"whsec_{t.client_id}".encode()
        with pytest.raises(DecryptionError, match="not configured"):
            await Vault(Keyring(old_key)).active_key(conn, tenants[0].client_id)
