"""SQL of the webhooks domain. Runs in the caller's transaction (tenant: RLS decides; service: every
statement names its client_id or works on ids claimed under the service role)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

CONFIGS = "webhook_configs"
DELIVERIES = "webhook_deliveries"
ATTEMPTS = "webhook_delivery_attempts"


# configs --------------------------------------------------------------------------------------------


async def client_exists(conn: Conn, client_id: UUID) -> bool:
    row = await (await conn.execute("select 1 as ok from clients where id = %s", (client_id,))).fetchone()
    return row is not None


async def insert_config(conn: Conn, values: Mapping[str, Any]) -> dict[str, Any]:
    return await crud.insert(conn, CONFIGS, values)


async def get_config(conn: Conn, config_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(f"select * from webhook_configs where id = %s{lock}", (config_id,))
    ).fetchone()


async def list_configs(
    conn: Conn, *, cursor: str | None, limit: int, client_id: UUID | None, esp_type: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    where: list[tuple[str, Any]] = []
    if client_id:
        where.append(("client_id", client_id))
    if esp_type:
        where.append(("esp_type", esp_type))
    return await crud.page(conn, CONFIGS, cursor=cursor, limit=limit, where=where)


async def update_config(conn: Conn, config_id: UUID, values: Mapping[str, Any]) -> dict[str, Any] | None:
    return await crud.update(conn, CONFIGS, config_id, values)


async def delete_config(conn: Conn, config_id: UUID) -> bool:
    # webhook_deliveries.webhook_config_id has no ON DELETE (spec): the log goes with the endpoint.
    await conn.execute("delete from webhook_deliveries where webhook_config_id = %s", (config_id,))
    return await crud.delete(conn, CONFIGS, config_id)


async def find_config_by_url(conn: Conn, *, esp_type: str, url: str) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "select * from webhook_configs where esp_type = %s and url = %s order by created_at", (esp_type, url)
    )
    return await cur.fetchall()


async def campaigns_using(conn: Conn, config_id: UUID) -> list[str]:
    cur = await conn.execute(
        "select name from campaigns where webhook_config_id = %s order by name", (config_id,)
    )
    return [r["name"] for r in await cur.fetchall()]


# events ---------------------------------------------------------------------------------------------


_TARGET_COLUMNS = ("target_id", "target_active", "target_disabled_reason")


async def lead_and_targets(
    conn: Conn, *, client_id: UUID, lead_id: UUID, event_type: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The lead (with its campaign's name and endpoint), and the endpoints that receive `event_type` for it
    (id, active, disabled_reason), in one statement: the campaign's own endpoint first (even when
    disabled: the event is logged as undeliverable), then every active client-wide subscription."""
    rows = await (
        await conn.execute(
            "select l.*, c.name as campaign_name, c.webhook_config_id as campaign_webhook_config_id,"
            " w.id as target_id, w.active as target_active, w.disabled_reason as target_disabled_reason"
            " from leads l left join campaigns c on c.id = l.campaign_id"
            " left join lateral (select w.id, w.active, w.disabled_reason, w.created_at from webhook_configs w"
            "  where w.client_id = %(client)s and %(event)s = any(w.events)"
            "  and (w.id = c.webhook_config_id or (w.all_campaigns and w.active))) w on true"
            " where l.id = %(lead)s and l.client_id = %(client)s"
            " order by (w.id = c.webhook_config_id) desc nulls last, w.created_at",
            {"client": client_id, "lead": lead_id, "event": event_type},
        )
    ).fetchall()
    if not rows:
        return None, []
    lead = {k: v for k, v in rows[0].items() if k not in _TARGET_COLUMNS}
    targets = [
        {"id": r["target_id"], "active": r["target_active"], "disabled_reason": r["target_disabled_reason"]}
        for r in rows
        if r["target_id"] is not None
    ]
    return lead, targets


async def insert_delivery(conn: Conn, values: Mapping[str, Any]) -> tuple[UUID, bool]:
    """Insert unless the (config, event_key) pair exists; returns (id, created)."""
    cols = list(values)
    row = await (
        await conn.execute(
            f"insert into webhook_deliveries ({', '.join(cols)}) values ({', '.join(['%s'] * len(cols))})"
            " on conflict (webhook_config_id, event_key) where event_key is not null do nothing returning id",
            [_adapt_value(values[c]) for c in cols],
        )
    ).fetchone()
    if row is not None:
        return row["id"], True
    existing = await (
        await conn.execute(
            "select id from webhook_deliveries where webhook_config_id = %s and event_key = %s",
            (values["webhook_config_id"], values["event_key"]),
        )
    ).fetchone()
    assert existing is not None
    return existing["id"], False


# deliveries -----------------------------------------------------------------------------------------


async def get_delivery(conn: Conn, delivery_id: UUID) -> dict[str, Any] | None:
    return await crud.get(conn, DELIVERIES, delivery_id)


async def list_deliveries(
    conn: Conn, *, config_id: UUID, cursor: str | None, limit: int, status: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    where: list[tuple[str, Any]] = [("webhook_config_id", config_id)]
    if status:
        where.append(("status", status))
    return await crud.page(conn, DELIVERIES, cursor=cursor, limit=limit, where=where)


async def list_attempts(conn: Conn, delivery_id: UUID) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "select * from webhook_delivery_attempts where delivery_id = %s order by attempt_number",
        (delivery_id,),
    )
    return await cur.fetchall()


async def requeue(
    conn: Conn, *, at: datetime, delivery_id: UUID | None = None, config_id: UUID | None = None
) -> list[UUID]:
    """Make deliveries due now with a fresh retry budget: one (any status but in-flight), or every
    given-up one of a config."""
    params: dict[str, Any] = {"at": at, "id": delivery_id if delivery_id is not None else config_id}
    if delivery_id is not None:
        where = "id = %(id)s and not (status = 'pending' and next_retry_at > %(at)s)"
    else:
        where = "webhook_config_id = %(id)s and status = 'failed' and next_retry_at is null"
    cur = await conn.execute(
        "update webhook_deliveries set status = 'pending', next_retry_at = %(at)s, attempt_count = 0,"
        f" error_message = null where {where} returning id",
        params,
    )
    return [r["id"] for r in await cur.fetchall()]


async def claim_due(
    conn: Conn, *, now: datetime, lease_until: datetime, limit: int, delivery_id: UUID | None = None
) -> list[dict[str, Any]]:
    """Claim due deliveries (service role): they stay `pending` with next_retry_at = the lease end,
    so a crashed dispatcher's work becomes due again when the lease runs out."""
    only = "and d.id = %(id)s" if delivery_id is not None else ""
    cur = await conn.execute(
        "with due as ("
        "  select d.id from webhook_deliveries d"
        "  where d.status in ('pending', 'failed') and d.next_retry_at is not null"
        f"   and d.next_retry_at <= %(now)s {only}"
        # deliveries about leads of an archived campaign leave the scan (docs/operations.md)
        "   and not exists (select 1 from leads l join campaigns c on c.id = l.campaign_id"
        "                   where l.id = d.lead_id and c.archived_at is not null)"
        "  order by d.next_retry_at limit %(limit)s for update skip locked"
        ")"
        " update webhook_deliveries d set status = 'pending', next_retry_at = %(lease)s,"
        "   attempt_count = d.attempt_count + 1, last_attempt_at = %(now)s"
        " from due where d.id = due.id returning d.*",
        {"now": now, "lease": lease_until, "limit": limit, "id": delivery_id},
    )
    return await cur.fetchall()


async def configs_by_id(conn: Conn, ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
    cur = await conn.execute("select * from webhook_configs where id = any(%s)", (list(ids),))
    return {r["id"]: r for r in await cur.fetchall()}


async def record_attempt(
    conn: Conn,
    *,
    delivery: dict[str, Any],
    attempted_at: datetime,
    values: Mapping[str, Any],
    config_succeeded: bool = False,
) -> bool:
    """Write the outcome onto the delivery, if this dispatcher still holds it (attempt_count matches:
    a late answer after the lease expired and someone else re-claimed it is only logged), and log the
    attempt; with `config_succeeded`, the endpoint's run of failures is reset too when the delivery was
    updated (as `config_succeeded` does). One statement. Returns whether the delivery row was updated."""
    sets = ", ".join(f"{c} = %({c})s" for c in values)
    row = await (
        await conn.execute(
            f"with d as (update webhook_deliveries set {sets}"
            " where id = %(delivery_id)s and attempt_count = %(attempt_count)s and status = 'pending'"
            " returning webhook_config_id),"
            " a as (insert into webhook_delivery_attempts (client_id, delivery_id, attempt_number,"
            " attempted_at, status, status_code, response_body, error_message, response_time_ms, next_retry_at)"
            " select %(client)s, %(delivery_id)s, coalesce(max(attempt_number), 0) + 1, %(at)s, %(status)s,"
            " %(status_code)s, %(response_body)s, %(error_message)s, %(response_time_ms)s, %(next_retry_at)s"
            " from webhook_delivery_attempts where delivery_id = %(delivery_id)s),"
            " c as (update webhook_configs set consecutive_failures = 0"
            " where %(config_succeeded)s and id in (select webhook_config_id from d)"
            " and consecutive_failures <> 0)"
            " select exists (select 1 from d) as current",
            {
                **{k: _adapt_value(v) for k, v in values.items()},
                "delivery_id": delivery["id"],
                "attempt_count": delivery["attempt_count"],
                "client": delivery["client_id"],
                "at": attempted_at,
                "status": values["status"],
                "status_code": values.get("status_code"),
                "response_body": _adapt_value(values.get("response_body")),
                "error_message": values.get("error_message"),
                "response_time_ms": values.get("response_time_ms"),
                "next_retry_at": values.get("next_retry_at"),
                "config_succeeded": config_succeeded,
            },
        )
    ).fetchone()
    return bool(row and row["current"])


async def give_up_unsent(conn: Conn, *, delivery_id: UUID, reason: str) -> None:
    """A claimed delivery that will not be sent (its endpoint is off): failed, replayable, no attempt."""
    await conn.execute(
        "update webhook_deliveries set status = 'failed', next_retry_at = null,"
        " attempt_count = greatest(attempt_count - 1, 0), error_message = %s where id = %s",
        (f"not sent: {reason}", delivery_id),
    )


async def config_succeeded(conn: Conn, config_id: UUID) -> None:
    await conn.execute(
        "update webhook_configs set consecutive_failures = 0 where id = %s and consecutive_failures <> 0",
        (config_id,),
    )


async def config_gave_up(conn: Conn, config_id: UUID) -> int:
    row = await (
        await conn.execute(
            "update webhook_configs set consecutive_failures = consecutive_failures + 1 where id = %s"
            " returning consecutive_failures",
            (config_id,),
        )
    ).fetchone()
    return int(row["consecutive_failures"]) if row else 0


async def disable_config(conn: Conn, *, config_id: UUID, reason: str, at: datetime) -> None:
    """Turn the endpoint off and stop its scheduled retries (they become replayable failures)."""
    await conn.execute(
        "update webhook_configs set active = false, disabled_reason = %s, disabled_at = %s"
        " where id = %s and active",
        (reason, at, config_id),
    )
    await conn.execute(
        "update webhook_deliveries set status = 'failed', next_retry_at = null,"
        " error_message = coalesce(error_message || '; ', '') || %s"
        " where webhook_config_id = %s and next_retry_at is not null"
        " and (status = 'failed' or (status = 'pending' and next_retry_at <= %s))",
        (f"not sent: endpoint disabled ({reason})", config_id, at),
    )
    # Claimed (in-flight) rows keep their lease: their dispatcher records them and sees the config off.


def _adapt_value(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


async def purge_finished_deliveries(conn: Conn, cutoff: datetime, limit: int) -> int:
    """Forget up to `limit` deliveries created before `cutoff` that are done with (their attempts go by
    cascade): a pending or retrying one is never lost to retention. Returns how many."""
    cur = await conn.execute(
        "delete from webhook_deliveries where id in (select id from webhook_deliveries"
        " where created_at < %s and status in ('success', 'failed') and next_retry_at is null limit %s)",
        (cutoff, limit),
    )
    return cur.rowcount
