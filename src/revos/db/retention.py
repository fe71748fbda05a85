"""Monthly partitions kept ahead, and retention: old partitions dropped, old rows deleted in batches.

Partitioned tables (migration 20260208000000) get their next months from `ensure_partitions` (the
worker's daily job; idempotent). Retention drops a partition once its whole month is past the table's
retention, and deletes old rows of plain tables (and of a default partition) `retention_batch_size` at
a time, one transaction per batch, so a large backlog never holds one long lock.

The audit log loses a prefix of each client's chain (sealed first, revos.db.audit_seal): every batch
records its last entry's seq and hash in `audit_anchors` in the same transaction (and under the chain's
advisory lock, the sealer's too), so `revos audit verify` proves the rest from there, and entries sealed
later continue the chain from the remaining head or, when none is left, from the anchor.

Leads and their timeline (lead_events) are never purged here: they live as long as the lead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql

from revos.config import Settings
from revos.db import audit_seal
from revos.db.pool import Database

log = logging.getLogger(__name__)

# The audit chain's advisory lock (migration 20260101001600): purges and seals of a client serialise.
AUDIT_LOCK_SPACE = 1920364403


@dataclass(frozen=True)
class Rule:
    """Rows of `table` whose `column` is older than `days` and that match `done` may go."""

    table: str
    column: str
    done: str
    days: int


def rules(settings: Settings) -> list[Rule]:
    return [
        Rule(
            "inbound_events",
            "received_at",
            "processed_at is not null",
            settings.retention_inbound_events_days,
        ),
        Rule(
            "pod_activities",
            "created_at",
            "status in ('completed', 'failed', 'skipped')",
            settings.retention_pod_activities_days,
        ),
        Rule(
            "skill_executions",
            "created_at",
            "review_status is distinct from 'pending'",
            settings.retention_skill_executions_days,
        ),
        # After whole months are dropped: rows of the default partition (outside every month) and of
        # the month the cutoff falls in.
        Rule("webhook_delivery_attempts", "attempted_at", "true", settings.retention_webhook_attempts_days),
    ]


def partition_retention(settings: Settings) -> dict[str, int]:
    """Days kept per partitioned table."""
    return {"webhook_delivery_attempts": settings.retention_webhook_attempts_days}


@dataclass
class RetentionReport:
    dropped_partitions: dict[str, int] = field(default_factory=dict)  # partition -> rows it held
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted in batches
    audit_purged: dict[UUID, int] = field(default_factory=dict)  # client -> audit entries purged


PARTITIONED_SQL = """
select c.oid::regclass::text as tbl from pg_class c
where c.relnamespace = 'public'::regnamespace and c.relkind = 'p'
  and exists (select from pg_inherits i join pg_class d on d.oid = i.inhrelid
              where i.inhparent = c.oid and d.relname = c.relname || '_default')
order by 1
"""


async def ensure_partitions(db: Database, today: date, months_ahead: int) -> list[str]:
    """Create this month's partition and `months_ahead` more for every partitioned table; return the
    partitions created now (none when they all exist)."""
    created: list[str] = []
    async with db.raw() as conn:
        tables = [r["tbl"] for r in await (await conn.execute(PARTITIONED_SQL)).fetchall()]
        for tbl in tables:
            rows = await (
                await conn.execute(
                    "select p::text as part from public.revos_ensure_month_partitions(%s::regclass, %s, %s) p",
                    (tbl, today, months_ahead),
                )
            ).fetchall()
            created += [r["part"] for r in rows]
    if created:
        log.info("created partitions %s", ", ".join(created))
    return created


async def drop_old_partitions(db: Database, now: datetime, settings: Settings) -> dict[str, int]:
    dropped: dict[str, int] = {}
    for table, days in partition_retention(settings).items():
        async with db.raw() as conn:
            rows = await (
                await conn.execute(
                    "select partition_name, row_count"
                    " from public.revos_drop_month_partitions_before(%s::regclass, %s)",
                    (f"public.{table}", now - timedelta(days=days)),
                )
            ).fetchall()
        dropped.update({r["partition_name"]: r["row_count"] for r in rows})
    return dropped


async def delete_in_batches(db: Database, rule: Rule, now: datetime, batch: int) -> int:
    cutoff = now - timedelta(days=rule.days)
    query = sql.SQL(
        "delete from {t} where id in (select id from {t} where {col} < %s and ({done}) limit %s)"
    ).format(t=sql.Identifier(rule.table), col=sql.Identifier(rule.column), done=sql.SQL(rule.done))
    total = 0
    while True:
        async with db.service(actor="retention") as conn:
            if await _missing(conn, rule.table):
                return total
            cur = await conn.execute(query, (cutoff, batch))
            n = cur.rowcount
        total += n
        if n < batch:
            return total


async def _missing(conn: Any, table: str) -> bool:
    row = await (
        await conn.execute("select to_regclass(%s) is null as missing", (f"public.{table}",))
    ).fetchone()
    return bool(row["missing"])


CLIENTS_WITH_AUDIT_SQL = """
with recursive c as (
  (select client_id from public.audit_log order by client_id limit 1)
  union all
  select (select a.client_id from public.audit_log a where a.client_id > c.client_id
          order by a.client_id limit 1)
  from c where c.client_id is not null
)
select client_id from c where client_id is not null
"""

# The last seq of the purgeable prefix: entries before the first one still inside the retention.
PREFIX_END_SQL = """
select coalesce(
  (select seq - 1 from public.audit_log where client_id = %(c)s and occurred_at >= %(cutoff)s
   order by seq limit 1),
  (select max(seq) from public.audit_log where client_id = %(c)s)
) as last
"""

PURGE_AUDIT_SQL = """
with doomed as (
  select id, seq, hash from public.audit_log
  where client_id = %(c)s and seq <= %(last)s
  order by seq limit %(batch)s
), gone as (
  delete from public.audit_log a using doomed where a.id = doomed.id returning doomed.seq, doomed.hash
), head as (
  select seq, hash, (select count(*) from gone) as n from gone order by seq desc limit 1
)
insert into public.audit_anchors as an (client_id, seq, hash, purged_rows, purged_at)
select %(c)s, seq, hash, n, now() from head
on conflict (client_id) do update
  set seq = excluded.seq, hash = excluded.hash, purged_rows = an.purged_rows + excluded.purged_rows,
      purged_at = excluded.purged_at
returning purged_rows, (select n from head) as n
"""


async def purge_audit(db: Database, now: datetime, days: int, batch: int) -> dict[UUID, int]:
    """Delete each client's audit entries older than `days` (a prefix of its chain) and anchor the rest."""
    cutoff = now - timedelta(days=days)
    purged: dict[UUID, int] = {}
    # Entries still pending join their chains first, so what is purged is a prefix of the whole trail;
    # whatever is sealed after the purge continues from the remaining head or from the anchor.
    await audit_seal.seal_pending(db)
    # The pool's own role: nobody else may delete from the trail or write its anchors.
    async with db.raw() as conn:
        clients = [r["client_id"] for r in await (await conn.execute(CLIENTS_WITH_AUDIT_SQL)).fetchall()]
    for client_id in clients:
        while True:
            async with db.raw() as conn:
                await conn.execute(
                    "select pg_advisory_xact_lock(%s, hashtext(%s))", (AUDIT_LOCK_SPACE, str(client_id))
                )
                row = await (
                    await conn.execute(PREFIX_END_SQL, {"c": client_id, "cutoff": cutoff})
                ).fetchone()
                last = row["last"] if row else None
                if last is None:
                    break
                done = await (
                    await conn.execute(PURGE_AUDIT_SQL, {"c": client_id, "last": last, "batch": batch})
                ).fetchone()
            n = int(done["n"]) if done else 0
            if n:
                purged[client_id] = purged.get(client_id, 0) + n
            if n < batch:
                break
    return purged


async def apply_retention(db: Database, now: datetime, settings: Settings) -> RetentionReport:
    """Everything retention does, in order: partitions, batch deletes, then the audit log (last, so the
    entries the deletes themselves wrote stay)."""
    report = RetentionReport()
    report.dropped_partitions = await drop_old_partitions(db, now, settings)
    for rule in rules(settings):
        n = await delete_in_batches(db, rule, now, settings.retention_batch_size)
        if n:
            report.deleted[rule.table] = n
    report.audit_purged = await purge_audit(
        db, now, settings.retention_audit_log_days, settings.retention_batch_size
    )
    if report.dropped_partitions or report.deleted or report.audit_purged:
        log.info(
            "retention: dropped %s, deleted %s, audit entries purged for %d client(s)",
            report.dropped_partitions,
            report.deleted,
            len(report.audit_purged),
        )
    return report
