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


async def lock_budgets(
    conn: Conn, account_ids: list[UUID], *, skip_locked: bool = False
) -> dict[UUID, dict[str, Any]]:
    """The accounts' budget state, locked for the rest of the transaction, in id order (two callers locking
    overlapping sets wait for each other, never in a cycle). With `skip_locked`, an account another
    transaction holds is left out instead of waited for.

    `no key update`: serialises the account's reservations without waiting for the transactions that only
    reference the account (a comment poll inserting its leads' sequences)."""
    match, ids = crud.any_of("id", sorted(account_ids))
    rows = await (
        await conn.execute(
            f"select {BUDGET_COLUMNS} from linkedin_accounts where {match} order by id for no key update"
            + (" skip locked" if skip_locked else ""),
            (ids,),
        )
    ).fetchall()
    return {row["id"]: row for row in rows}


async def existing(conn: Conn, account_ids: list[UUID]) -> set[UUID]:
    """Those of `account_ids` that exist (without locking them)."""
    rows = await (
        await conn.execute("select id from linkedin_accounts where id = any(%s)", (account_ids,))
    ).fetchall()
    return {row["id"] for row in rows}


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
    conn: Conn, wants: list[tuple[UUID, UUID, date, str, int, int]]
) -> dict[tuple[UUID, str], tuple[int, int]]:
    """For each (client, account, day, kind, n, cap): up to `n` more `kind` on `day`, never past `cap`, all
    in one statement; (account, kind) → the units taken (0 when the cap is reached) and the day's count
    after them. The caller holds the accounts' locks (`lock_budgets`), and only holders of an account's
    lock add to its counts, so the count read first is the one the upsert adds to."""
    if not wants:
        return {}
    if len(wants) == 1:  # a DM step's: planned once per connection, where `unnest` is planned every run
        source = "values (%s::uuid, %s::uuid, %s::date, %s::text, %s::int, %s::int)"
        params: list[Any] = list(wants[0])
    else:
        source = "select * from unnest(%s::uuid[], %s::uuid[], %s::date[], %s::text[], %s::int[], %s::int[])"
        params = [list(c) for c in zip(*sorted(wants, key=lambda w: (w[1], w[3])), strict=True)]
    rows = await (
        await conn.execute(
            f"""
            with v (client_id, account_id, day, kind, n, cap) as (
              {source}
            ), before as (
              select v.*, coalesce(u.used, 0) as used from v
              left join account_daily_usage u
                on u.linkedin_account_id = v.account_id and u.day = v.day and u.kind = v.kind
            ), taken as (
              insert into account_daily_usage as u (client_id, linkedin_account_id, day, kind, used)
              select client_id, account_id, day, kind, least(n, cap - used) from before
              where used < cap and n > 0
              order by account_id, kind
              on conflict (linkedin_account_id, day, kind) do update set used = u.used + excluded.used
              returning linkedin_account_id, kind, used
            )
            select b.account_id, b.kind, b.used as before, t.used as after from before b
            left join taken t on t.linkedin_account_id = b.account_id and t.kind = b.kind
            """,
            params,
        )
    ).fetchall()
    out: dict[tuple[UUID, str], tuple[int, int]] = {}
    for row in rows:
        if row["after"] is None:
            out[(row["account_id"], row["kind"])] = (0, int(row["before"]))
        else:
            out[(row["account_id"], row["kind"])] = (
                int(row["after"]) - int(row["before"]),
                int(row["after"]),
            )
    return out


async def space_next_actions(conn: Conn, spacing: list[tuple[UUID, datetime, str, int]]) -> None:
    """For each (account, at, kind, used): no action before `at`; the legacy daily counters follow today's
    DM and post counts. Writes only what changes (an audited update that changes nothing still costs an
    entry)."""
    if not spacing:
        return
    if len(spacing) == 1:  # a DM step's: planned once per connection (`revos.db.crud.any_of`)
        account_id, at, kind, used = spacing[0]
        await conn.execute(
            """
            update linkedin_accounts set next_action_at = greatest(next_action_at, %(at)s::timestamptz),
              daily_dm_count = case when %(kind)s::text = 'dm' then %(used)s::int else daily_dm_count end,
              daily_post_count = case when %(kind)s::text = 'post' then %(used)s::int else daily_post_count end
            where id = %(id)s::uuid and (next_action_at is null or next_action_at < %(at)s::timestamptz
              or (%(kind)s::text = 'dm' and daily_dm_count is distinct from %(used)s::int)
              or (%(kind)s::text = 'post' and daily_post_count is distinct from %(used)s::int))
            """,
            {"id": account_id, "at": at, "kind": kind, "used": used},
        )
        return
    cols = list(zip(*spacing, strict=True))
    await conn.execute(
        """
        update linkedin_accounts a set next_action_at = greatest(a.next_action_at, v.at),
          daily_dm_count = case when v.kind = 'dm' then v.used else a.daily_dm_count end,
          daily_post_count = case when v.kind = 'post' then v.used else a.daily_post_count end
        from unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::int[]) as v(id, at, kind, used)
        where a.id = v.id and (a.next_action_at is null or a.next_action_at < v.at
          or (v.kind = 'dm' and a.daily_dm_count is distinct from v.used)
          or (v.kind = 'post' and a.daily_post_count is distinct from v.used))
        """,
        [list(c) for c in cols],
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
