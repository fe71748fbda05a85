"""Verification of the per-client hash chain of `audit_log`.

The database writes the chain (migration `20260101001600_audit_log.sql`; since `20260211000000` writes
append entries to `audit_pending` and `revos_audit_seal` chains them, see revos.db.audit_seal): rows of a
client are numbered 1, 2, 3 … (`seq`) and

    hash = sha256(prev_hash || utf8(canonical_text(row)))

where prev_hash is the previous row's hash (32 zero bytes for seq 1). Verification recomputes every
hash here, outside the database, so a person with write access to the table cannot make the check
pass by also changing a function inside it.

Retention (revos.db.retention) deletes the oldest entries of a chain and records the last deleted
entry's seq and hash in `audit_anchors`: a chain whose first remaining row follows its anchor is
verified from that hash instead of the genesis hash, so what is left is still proved link by link.

What a broken chain tells you: an edited row no longer matches its hash; a deleted row leaves a gap
in `seq`; rows reordered or replaced no longer link to their predecessor. What it cannot tell you:
that rows were cut off the *end* of a chain. Keep `head_hash` of a report somewhere else (a ticket,
a log shipped off the machine) and compare it later to cover that too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row

CANONICAL_VERSION = "revos-audit-v1;"
GENESIS_HASH = bytes(32)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The verdict on one client's chain: it holds, or where it first breaks and why."""

    client_id: UUID
    rows_checked: int
    last_seq: int
    head_hash: str | None  # hex hash of the last row verified, to anchor the chain elsewhere
    broken_seq: int | None = None
    broken_row_id: int | None = None  # audit_log.id of the offending row, when there is one
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    def __str__(self) -> str:
        if not self.ok:
            return (
                f"client {self.client_id}: BROKEN at seq {self.broken_seq}"
                f" (audit_log.id {self.broken_row_id}): {self.reason};"
                f" {self.rows_checked} rows verified before it"
            )
        if not self.rows_checked:
            return f"client {self.client_id}: no audit rows"
        return (
            f"client {self.client_id}: chain holds, {self.rows_checked} rows, head seq {self.last_seq}"
            f" hash {self.head_hash}"
        )


def _field(value: str) -> str:
    # Length in characters, as PostgreSQL's length(text) counts them (Python counts code points too).
    return f"{len(value)}:{value};"


def canonical_text(
    *,
    client_id: UUID,
    seq: int,
    occurred_at: datetime,
    actor: str,
    actor_role: str,
    table_name: str,
    row_id: str,
    operation: str,
    changed_columns: Sequence[str],
) -> str:
    """The text hashed for one row; must match SQL `public.revos_audit_canonical` byte for byte."""
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    timestamp = occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    columns = "".join(_field(c) for c in changed_columns)
    fields = [str(client_id), str(seq), timestamp, actor, actor_role, table_name, row_id, operation, columns]
    return CANONICAL_VERSION + "".join(_field(f) for f in fields)


def row_hash(prev_hash: bytes, canonical: str) -> bytes:
    return hashlib.sha256(prev_hash + canonical.encode("utf-8")).digest()


_QUERY = sql.SQL(
    "select id, client_id, seq, occurred_at, actor, actor_role, table_name, row_id, operation,"
    " changed_columns, prev_hash, hash"
    " from public.audit_log {where} order by client_id, seq, id"
)


_ANCHORS = sql.SQL("select client_id, seq, hash from public.audit_anchors {where}")


class _ChainCheck:
    """Walks one client's rows in seq order and keeps the first break."""

    def __init__(self, client_id: UUID, anchor: tuple[int, bytes] | None = None) -> None:
        self.client_id = client_id
        self.anchor = anchor
        self.rows = 0
        self.last_seq = 0
        self.prev_hash = GENESIS_HASH
        self.broken_seq: int | None = None
        self.broken_row_id: int | None = None
        self.reason: str | None = None

    def feed(self, row: tuple[Any, ...]) -> None:
        if self.broken_seq is not None:
            return
        if self.rows == 0 and self.anchor is not None and row[2] == self.anchor[0] + 1:
            # The entries before this one were purged by retention: the chain goes on from the anchor.
            self.last_seq, self.prev_hash = self.anchor
        (row_pk, client_id, seq, occurred_at, actor, actor_role, table_name, row_id, operation,
         changed_columns, prev_hash, stored_hash) = row  # fmt: skip
        expected = self.last_seq + 1
        if seq != expected:
            reason = (
                f"seq {expected} is missing (row deleted)"
                if seq > expected
                else f"seq {seq} appears more than once (row duplicated)"
            )
            self._break(expected if seq > expected else seq, row_pk, reason)
            return
        if bytes(prev_hash) != self.prev_hash:
            self._break(
                seq,
                row_pk,
                f"prev_hash does not match the hash of seq {seq - 1} (rows reordered, removed or replaced)",
            )
            return
        canonical = canonical_text(
            client_id=client_id,
            seq=seq,
            occurred_at=occurred_at,
            actor=actor,
            actor_role=actor_role,
            table_name=table_name,
            row_id=row_id,
            operation=operation,
            changed_columns=changed_columns,
        )
        if row_hash(self.prev_hash, canonical) != bytes(stored_hash):
            self._break(seq, row_pk, "hash does not match the row's content (row edited)")
            return
        self.rows += 1
        self.last_seq = seq
        self.prev_hash = bytes(stored_hash)

    def _break(self, seq: int, row_pk: int, reason: str) -> None:
        self.broken_seq = seq
        self.broken_row_id = row_pk
        self.reason = reason

    def report(self) -> ChainReport:
        return ChainReport(
            client_id=self.client_id,
            rows_checked=self.rows,
            last_seq=self.last_seq,
            head_hash=self.prev_hash.hex() if self.rows else None,
            broken_seq=self.broken_seq,
            broken_row_id=self.broken_row_id,
            reason=self.reason,
        )


async def verify_chain(conn: AsyncConnection[Any], client_id: UUID | None = None) -> list[ChainReport]:
    """Verify the audit chain of one client, or of every client with audit rows (ordered by client id).

    Run it on a connection that sees the whole trail: the service role, or a tenant session for its own
    client only (RLS hides the rest). Rows are streamed, so a long trail does not sit in memory. Only
    sealed entries are verified: seal first (revos.db.audit_seal) to include the latest writes.
    """
    where = sql.SQL("where client_id = %s" if client_id is not None else "")
    params = (client_id,) if client_id is not None else ()
    anchors: dict[UUID, tuple[int, bytes]] = {}
    async with conn.cursor(row_factory=tuple_row) as cur:
        async for anchor_client, anchor_seq, anchor_hash in cur.stream(_ANCHORS.format(where=where), params):
            anchors[anchor_client] = (anchor_seq, bytes(anchor_hash))
    checks: dict[UUID, _ChainCheck] = {}
    if client_id is not None:
        checks[client_id] = _ChainCheck(client_id, anchors.get(client_id))
    async with conn.cursor(row_factory=tuple_row) as cur:
        async for row in cur.stream(_QUERY.format(where=where), params):
            check = checks.get(row[1])
            if check is None:
                check = checks[row[1]] = _ChainCheck(row[1], anchors.get(row[1]))
            check.feed(row)
    return [check.report() for check in checks.values()]
