"""SQL for linkedin_accounts. Credential columns are read only by `credentials_of`, never listed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from revos.db import crud
from revos.db.pool import Conn

TABLE = "linkedin_accounts"
PUBLIC_COLUMNS = (
    "id, client_id, user_id, account_name, unipile_account_id, status, provider_status, checkpoint,"
    " profile_data, timezone, safety, paused_at, paused_until, pause_reason, pause_source,"
    " warmup_started_at, next_action_at, daily_dm_count, daily_post_count, last_sync_at,"
    " created_at, updated_at"
)


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


async def insert(conn: Conn, values: dict[str, Any]) -> None:
    await crud.insert(conn, TABLE, values, returning=False)


async def get(conn: Conn, account_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " for update" if for_update else ""
    return await (
        await conn.execute(
            f"select {PUBLIC_COLUMNS} from linkedin_accounts where id = %s{lock}", (account_id,)
        )
    ).fetchone()


async def page(conn: Conn, *, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(conn, TABLE, cursor=cursor, limit=limit, columns=PUBLIC_COLUMNS)


async def update(conn: Conn, account_id: UUID, values: dict[str, Any]) -> dict[str, Any] | None:
    if not values:
        return await get(conn, account_id)
    query = sql.SQL("update linkedin_accounts set {} where id = %s returning " + PUBLIC_COLUMNS).format(
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values)
    )
    return await (await conn.execute(query, [*(_adapt(v) for v in values.values()), account_id])).fetchone()


async def rename_if_named(conn: Conn, account_id: UUID, *, current: str, new: str) -> bool:
    """Rename the account only while it still has the name `current` (a person may have renamed it)."""
    cur = await conn.execute(
        "update linkedin_accounts set account_name = %s where id = %s and account_name = %s",
        (new, account_id, current),
    )
    return cur.rowcount > 0


async def credentials_of(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select id, client_id, linkedin_email, linkedin_password, unipile_session"
            " from linkedin_accounts where id = %s",
            (account_id,),
        )
    ).fetchone()


async def delete(conn: Conn, account_id: UUID) -> bool:
    return await crud.delete(conn, TABLE, account_id)


async def by_unipile_id(conn: Conn, unipile_account_id: str) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            f"select {PUBLIC_COLUMNS} from linkedin_accounts where unipile_account_id = %s",
            (unipile_account_id,),
        )
    ).fetchone()


async def start_warmup(conn: Conn, account_id: UUID, now: datetime) -> None:
    """A connected account starts warming up, once (reconnecting does not start it over)."""
    await conn.execute(
        "update linkedin_accounts set warmup_started_at = coalesce(warmup_started_at, %s) where id = %s",
        (now, account_id),
    )


async def mark_expired(conn: Conn, account_id: UUID, provider_status: str) -> None:
    await conn.execute(
        "update linkedin_accounts set status = 'expired', provider_status = %s where id = %s",
        (provider_status, account_id),
    )


async def latest_status_event_id(conn: Conn, account_id: UUID) -> UUID | None:
    """The id of the account's most recent account_status event from Unipile (they may come out of order)."""
    row = await (
        await conn.execute(
            "select id from inbound_events where linkedin_account_id = %s and source = 'account_status'"
            " order by received_at desc, created_at desc limit 1",
            (account_id,),
        )
    ).fetchone()
    return row["id"] if row else None


# --- the safety budget (revos.accounts.safety) -------------------------------------------------------------

BUDGET_COLUMNS = (
    "id, client_id, status, provider_status, timezone, safety, paused_at, paused_until, pause_reason,"
    " pause_source, warmup_started_at, next_action_at, rate_limit_strikes"
)
# Kinds whose day's count is also kept on the account row (daily_dm_count, daily_post_count).
LEGACY_COUNTED = frozenset({"dm", "post"})


async def lock_budget(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    """The account's budget state, locked for the rest of the transaction.

    `no key update`: serialises the account's reservations without waiting for the transactions that only
    reference the account (a comment poll inserting its leads' sequences)."""
    return await (
        await conn.execute(
            f"select {BUDGET_COLUMNS} from linkedin_accounts where id = %s for no key update", (account_id,)
        )
    ).fetchone()


async def invitations_over(conn: Conn, account_id: UUID, *, after: date, through: date) -> int:
    """Invitations counted on the account-local days in (after, through]."""
    row = await (
        await conn.execute(
            "select coalesce(sum(used), 0) as used from account_daily_usage"
            " where linkedin_account_id = %s and kind = 'invitation' and day > %s and day <= %s",
            (account_id, after, through),
        )
    ).fetchone()
    return int(row["used"]) if row else 0


async def take_daily_units(
    conn: Conn, *, client_id: UUID, account_id: UUID, day: date, kind: str, n: int, cap: int
) -> tuple[int, int]:
    """Up to `n` more `kind` on `day`, never past `cap` (atomic, one statement): the units taken (0 when
    the cap is reached) and the day's count after them. The caller holds the account's lock, so the
    count read first is the one the upsert adds to."""
    row = await (
        await conn.execute(
            """
            with before as (
              select coalesce((select used from account_daily_usage
                               where linkedin_account_id = %(a)s and day = %(d)s and kind = %(k)s
                               for update), 0) as used
            ), taken as (
              insert into account_daily_usage as u (client_id, linkedin_account_id, day, kind, used)
              select %(c)s, %(a)s, %(d)s, %(k)s, least(%(n)s, %(cap)s - before.used) from before
              where before.used < %(cap)s
              on conflict (linkedin_account_id, day, kind) do update set used = u.used + excluded.used
              where u.used + excluded.used <= %(cap)s
              returning used
            )
            select before.used as before, taken.used as used from before left join taken on true
            """,
            {"c": client_id, "a": account_id, "d": day, "k": kind, "n": n, "cap": cap},
        )
    ).fetchone()
    assert row is not None
    if row["used"] is None:
        return 0, int(row["before"])
    return int(row["used"]) - int(row["before"]), int(row["used"])


async def space_next_action(conn: Conn, account_id: UUID, *, at: datetime, kind: str, used: int) -> None:
    """No action before `at`; the legacy daily counters follow today's DM and post counts. Writes only
    what changes (an audited update that changes nothing still costs an entry)."""
    column = {"dm": "daily_dm_count", "post": "daily_post_count"}.get(kind)
    legacy = sql.SQL(", {} = %(used)s").format(sql.Identifier(column)) if column else sql.SQL("")
    changed = (
        sql.SQL(" or {} is distinct from %(used)s").format(sql.Identifier(column)) if column else sql.SQL("")
    )
    await conn.execute(
        sql.SQL(
            "update linkedin_accounts set next_action_at = greatest(next_action_at, %(at)s){}"
            " where id = %(id)s and (next_action_at is null or next_action_at < %(at)s{})"
        ).format(legacy, changed),
        {"at": at, "used": used, "id": account_id},
    )


async def give_back_daily_unit(conn: Conn, account_id: UUID, *, day: date, kind: str, n: int = 1) -> None:
    row = await (
        await conn.execute(
            "update account_daily_usage set used = greatest(used - %s, 0)"
            " where linkedin_account_id = %s and day = %s and kind = %s and used > 0 returning used",
            (n, account_id, day, kind),
        )
    ).fetchone()
    if row is not None and kind in LEGACY_COUNTED:
        column = "daily_dm_count" if kind == "dm" else "daily_post_count"
        await conn.execute(
            f"update linkedin_accounts set {column} = least({column}, %s) where id = %s and {column} > %s",
            (row["used"], account_id, row["used"]),
        )


async def daily_usage(conn: Conn, account_id: UUID, day: date) -> dict[str, int]:
    rows = await (
        await conn.execute(
            "select kind, used from account_daily_usage where linkedin_account_id = %s and day = %s",
            (account_id, day),
        )
    ).fetchall()
    return {r["kind"]: int(r["used"]) for r in rows}


async def set_pause(
    conn: Conn,
    account_id: UUID,
    *,
    reason: str,
    until: datetime | None,
    source: str,
    now: datetime,
    milder_or_equal: list[str],
) -> bool:
    """Pause the account, unless it is paused already for a reason not in `milder_or_equal`."""
    result = await conn.execute(
        "update linkedin_accounts set paused_at = coalesce(paused_at, %s), paused_until = %s,"
        " pause_reason = %s, pause_source = %s"
        " where id = %s and (pause_source is null or paused_at is null or pause_source = any(%s))",
        (now, until, reason, source, account_id, milder_or_equal),
    )
    return result.rowcount > 0


_UNPAUSED = "paused_at = null, paused_until = null, pause_reason = null, pause_source = null"


async def lift_pause(conn: Conn, account_id: UUID, *, only_sources: list[str] | None) -> UUID | None:
    """Lift the account's pause (any, or only one from `only_sources`), and forget its 429 strikes.

    Returns the account's client when it was paused."""
    only = "" if only_sources is None else " and pause_source = any(%(sources)s)"
    row = await (
        await conn.execute(
            f"update linkedin_accounts set {_UNPAUSED}, rate_limit_strikes = 0"
            f" where id = %(id)s and paused_at is not null{only} returning client_id",
            {"id": account_id, "sources": only_sources},
        )
    ).fetchone()
    return row["client_id"] if row else None


async def clear_pause(conn: Conn, account_id: UUID) -> None:
    """The pause ran out: lifted, 429 strikes kept (the next 429 pauses longer)."""
    await conn.execute(f"update linkedin_accounts set {_UNPAUSED} where id = %s", (account_id,))


async def add_rate_limit_strike(conn: Conn, account_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "update linkedin_accounts set rate_limit_strikes = rate_limit_strikes + 1"
            " where id = %s returning rate_limit_strikes, timezone, safety",
            (account_id,),
        )
    ).fetchone()


async def reset_rate_limit_strikes(conn: Conn, account_id: UUID) -> None:
    await conn.execute(
        "update linkedin_accounts set rate_limit_strikes = 0 where id = %s and rate_limit_strikes > 0",
        (account_id,),
    )
