"""SQL of the AI layer: a client's AI settings (ai_settings) and its monthly token usage (ai_usage).

Works in the caller's transaction, tenant (RLS) or service (every statement names its client)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from revos.db.pool import Conn

SETTINGS_TABLE = "ai_settings"
_SETTINGS = "id, client_id, provider, model, base_url, api_key, monthly_token_budget, created_at, updated_at"
_USAGE = "provider, model, calls, failures, tokens_in, tokens_out, reserved, cost_usd"


async def settings_of(conn: Conn, client_id: UUID) -> dict[str, Any] | None:
    cur = await conn.execute(f"select {_SETTINGS} from public.ai_settings where client_id = %s", (client_id,))
    return await cur.fetchone()


async def lock_settings(conn: Conn, client_id: UUID) -> dict[str, Any]:
    """The client's settings row, created empty when missing, locked until the transaction ends (its id
    is what the API key is sealed to). A per-client lock makes the first creation single too."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtext('ai_settings'), hashtext(%s))", (str(client_id),)
    )
    cur = await conn.execute(
        f"select {_SETTINGS} from public.ai_settings where client_id = %s for update", (client_id,)
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            f"insert into public.ai_settings (client_id) values (%s) returning {_SETTINGS}", (client_id,)
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def update_settings(conn: Conn, settings_id: UUID, values: dict[str, Any]) -> dict[str, Any]:
    """Set `values` (columns of ai_settings, already validated) on the row."""
    columns = sorted(values)
    assignments = ", ".join(f"{c} = %({c})s" for c in columns)
    cur = await conn.execute(
        f"update public.ai_settings set {assignments} where id = %(id)s returning {_SETTINGS}",
        {**values, "id": settings_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def lock_month(conn: Conn, client_id: UUID, month: date) -> None:
    """Serialise budget checks of one client and month (held until the transaction ends)."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtext('ai_usage'), hashtext(%s))", (f"{client_id}:{month}",)
    )


async def month_totals(conn: Conn, client_id: UUID, month: date) -> tuple[int, int]:
    """(tokens used, tokens reserved by calls in flight) of the client in `month`."""
    cur = await conn.execute(
        "select coalesce(sum(tokens_in + tokens_out), 0)::bigint as used,"
        " coalesce(sum(reserved), 0)::bigint as reserved"
        " from public.ai_usage where client_id = %s and month = %s",
        (client_id, month),
    )
    row = await cur.fetchone()
    return (int(row["used"]), int(row["reserved"])) if row else (0, 0)


async def reserve(
    conn: Conn, *, client_id: UUID, month: date, provider: str, model: str, tokens: int
) -> None:
    await conn.execute(
        """
        insert into public.ai_usage (client_id, month, provider, model, reserved)
        values (%s, %s, %s, %s, %s)
        on conflict (client_id, month, provider, model)
        do update set reserved = public.ai_usage.reserved + excluded.reserved
        """,
        (client_id, month, provider, model, tokens),
    )


async def settle(
    conn: Conn,
    *,
    client_id: UUID,
    month: date,
    provider: str,
    model: str,
    reserved: int,
    tokens_in: int,
    tokens_out: int,
    cost_usd: float,
    calls: int = 1,
    failures: int = 0,
) -> None:
    """Replace calls' reservation by what they used: `calls` answered, `failures` failed (one statement
    for a batch of calls: their tokens and cost summed)."""
    await conn.execute(
        """
        insert into public.ai_usage
          (client_id, month, provider, model, calls, failures, tokens_in, tokens_out, cost_usd)
        values (%(client_id)s, %(month)s, %(provider)s, %(model)s, %(calls)s, %(failures)s,
                %(tokens_in)s, %(tokens_out)s, %(cost)s)
        on conflict (client_id, month, provider, model) do update set
          calls = public.ai_usage.calls + excluded.calls,
          failures = public.ai_usage.failures + excluded.failures,
          tokens_in = public.ai_usage.tokens_in + excluded.tokens_in,
          tokens_out = public.ai_usage.tokens_out + excluded.tokens_out,
          cost_usd = public.ai_usage.cost_usd + excluded.cost_usd,
          reserved = greatest(public.ai_usage.reserved - %(reserved)s, 0)
        """,
        {
            "client_id": client_id,
            "month": month,
            "provider": provider,
            "model": model,
            "calls": calls,
            "failures": failures,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "cost": Decimal(str(cost_usd)),
            "reserved": reserved,
        },
    )


async def usage_of_month(conn: Conn, client_id: UUID, month: date) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"select {_USAGE} from public.ai_usage where client_id = %s and month = %s order by provider, model",
        (client_id, month),
    )
    return list(await cur.fetchall())
