"""Encrypting and decrypting column values with per-client data keys kept in `encryption_keys`.

Works inside the caller's transaction (tenant or service): creating a client's first data key
commits or rolls back with the write that needed it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from revos.security.crypto import (
    DataKey,
    DecryptionError,
    Keyring,
    aad_for,
    header_of,
    open_sealed,
    seal,
)

_KEY_COLUMNS = "client_id, purpose, key_version, wrapped_key, master_key_id"


class Vault:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        # Unwrapped data keys. Master-key rotation re-wraps but never changes a data key, so
        # entries stay valid; they live only in this process's memory.
        self._cache: dict[tuple[UUID, str, int], bytes] = {}

    def _unwrap_row(self, row: Any) -> DataKey:
        client_id, purpose, version, wrapped, master_id = _values(row)
        key = self.keyring.unwrap(
            bytes(wrapped), master_id=master_id, client_id=client_id, version=version, purpose=purpose
        )
        self._cache[(client_id, purpose, version)] = key
        return DataKey(client_id, purpose, version, key)

    async def _key_rows(self, conn: AsyncConnection[Any], client_id: UUID, purpose: str) -> list[Any]:
        # Through the guarded function: tenant roles have no privilege on encryption_keys itself.
        cur = await conn.execute(
            f"select {_KEY_COLUMNS}, active from public.revos_data_keys(%s, %s)", (client_id, purpose)
        )
        return list(await cur.fetchall())

    async def active_key(self, conn: AsyncConnection[Any], client_id: UUID, purpose: str = "data") -> DataKey:
        for _ in range(2):
            rows = [r for r in await self._key_rows(conn, client_id, purpose) if _active(r)]
            if rows:
                return self._cached_or_unwrap(rows[0])
            version = 1
            key = os.urandom(32)
            wrapped = self.keyring.wrap(key, client_id=client_id, version=version, purpose=purpose)
            cur = await conn.execute(
                "select public.revos_create_data_key(%s, %s, %s, %s, %s)",
                (client_id, purpose, version, wrapped, self.keyring.primary_id),
            )
            created = await cur.fetchone()
            if created is not None and _row_values(created)[0]:
                self._cache[(client_id, purpose, version)] = key
                return DataKey(client_id, purpose, version, key)
            # Another transaction created it first: read theirs.
        raise DecryptionError(f"could not create a {purpose} data key")

    def _cached_or_unwrap(self, row: Any) -> DataKey:
        client_id, purpose, version, _, _ = _values(row)
        cached = self._cache.get((client_id, purpose, version))
        if cached is not None:
            return DataKey(client_id, purpose, version, cached)
        return self._unwrap_row(row)

    async def key_version(
        self, conn: AsyncConnection[Any], client_id: UUID, purpose: str, version: int
    ) -> DataKey:
        cached = self._cache.get((client_id, purpose, version))
        if cached is not None:
            return DataKey(client_id, purpose, version, cached)
        for row in await self._key_rows(conn, client_id, purpose):
            if _values(row)[2] == version:
                return self._unwrap_row(row)
        raise DecryptionError(f"no data key {purpose}/v{version} for this client")

    async def encrypt(
        self,
        conn: AsyncConnection[Any],
        *,
        client_id: UUID,
        table: str,
        column: str,
        row_id: UUID,
        value: str | bytes | dict[str, Any],
        layers: int = 1,
    ) -> bytes:
        """Seal `value` for (table, column, row). `layers=2` adds the inner credentials layer."""
        plaintext = _to_bytes(value)
        aad = aad_for(table, column, row_id)
        if layers == 2:
            inner = await self.active_key(conn, client_id, "credentials")
            plaintext = seal(inner.key, inner.version, plaintext, aad + b":inner")
        outer = await self.active_key(conn, client_id, "data")
        return seal(outer.key, outer.version, plaintext, aad)

    async def decrypt(
        self,
        conn: AsyncConnection[Any],
        *,
        client_id: UUID,
        table: str,
        column: str,
        row_id: UUID,
        ciphertext: bytes,
        layers: int = 1,
    ) -> bytes:
        aad = aad_for(table, column, row_id)
        outer = await self.key_version(conn, client_id, "data", header_of(bytes(ciphertext))[1])
        plaintext = open_sealed(outer.key, bytes(ciphertext), aad)
        if layers == 2:
            inner = await self.key_version(conn, client_id, "credentials", header_of(plaintext)[1])
            plaintext = open_sealed(inner.key, plaintext, aad + b":inner")
        return plaintext

    async def decrypt_text(self, conn: AsyncConnection[Any], **kw: Any) -> str:
        return (await self.decrypt(conn, **kw)).decode("utf-8")

    async def decrypt_json(self, conn: AsyncConnection[Any], **kw: Any) -> Any:
        return json.loads(await self.decrypt(conn, **kw))

    async def rotate_master(
        self,
        conn: AsyncConnection[Any],
        *,
        batch: int = 100,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Re-wrap every data key not yet under the primary master key; return how many.

        Each batch is claimed with `for update skip locked` and committed by the caller's loop,
        so rotation runs beside live traffic and resumes where it stopped after a crash.
        """
        rows = await (
            await conn.execute(
                f"select id, {_KEY_COLUMNS} from encryption_keys where master_key_id <> %s"
                " order by id limit %s for update skip locked",
                (self.keyring.primary_id, batch),
            )
        ).fetchall()
        for row in rows:
            values = _row_values(row)
            key_id, rest = values[0], values[1:]
            key = self._unwrap_row(rest).key
            client_id, purpose, version = rest[0], rest[1], rest[2]
            rewrapped = self.keyring.wrap(key, client_id=client_id, version=version, purpose=purpose)
            await conn.execute(
                "update encryption_keys set wrapped_key = %s, master_key_id = %s, rotated_at = now()"
                " where id = %s",
                (rewrapped, self.keyring.primary_id, key_id),
            )
        if progress:
            progress(len(rows))
        return len(rows)


def _row_values(row: Any) -> list[Any]:
    return list(row.values()) if isinstance(row, dict) else list(row)


def _active(row: Any) -> bool:
    return bool(row["active"] if isinstance(row, dict) else row[5])


def _values(row: Any) -> tuple[UUID, str, int, bytes, str]:
    if isinstance(row, dict):
        return (
            row["client_id"],
            row["purpose"],
            row["key_version"],
            row["wrapped_key"],
            row["master_key_id"],
        )
    return (row[0], row[1], row[2], row[3], row[4])


def _to_bytes(value: str | bytes | dict[str, Any]) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")
