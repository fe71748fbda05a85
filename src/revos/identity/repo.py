"""SQL of sign-in: credentials, web sessions, one-time links, sign-in attempts.

Credentials, sessions and attempts are service-role-only tables (the caller opened `db.service()`);
one-time links are a tenant table, created inside the admin's RLS transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from revos.db.pool import Conn

# --- people ------------------------------------------------------------------------------------------------


async def person_by_email(conn: Conn, email: str) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select u.id, u.client_id, u.email, u.role, c.agency_id, cr.password_hash,"
            " coalesce(cr.agency_staff, false) as agency_staff"
            " from users u join clients c on c.id = u.client_id"
            " left join user_credentials cr on cr.user_id = u.id"
            " where lower(u.email) = lower(%s)",
            (email,),
        )
    ).fetchone()


async def person_by_id(conn: Conn, user_id: UUID) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select u.id, u.client_id, u.email, u.role, c.agency_id, cr.password_hash,"
            " coalesce(cr.agency_staff, false) as agency_staff"
            " from users u join clients c on c.id = u.client_id"
            " left join user_credentials cr on cr.user_id = u.id"
            " where u.id = %s",
            (user_id,),
        )
    ).fetchone()


async def set_password_hash(conn: Conn, user_id: UUID, client_id: UUID, password_hash: str) -> None:
    await conn.execute(
        "insert into user_credentials (client_id, user_id, password_hash, password_changed_at)"
        " values (%s, %s, %s, now())"
        " on conflict (user_id) do update set password_hash = excluded.password_hash,"
        " password_changed_at = now(), client_id = excluded.client_id",
        (client_id, user_id, password_hash),
    )


async def set_agency_staff(conn: Conn, user_id: UUID, client_id: UUID, staff: bool) -> None:
    await conn.execute(
        "insert into user_credentials (client_id, user_id, agency_staff) values (%s, %s, %s)"
        " on conflict (user_id) do update set agency_staff = excluded.agency_staff",
        (client_id, user_id, staff),
    )


# --- sessions ----------------------------------------------------------------------------------------------


async def insert_session(
    conn: Conn,
    *,
    token_hash: bytes,
    person: dict[str, Any],
    agency_id: UUID | None,
    lifetime: timedelta,
    ip: str | None,
    user_agent: str | None,
) -> UUID:
    row = await (
        await conn.execute(
            "insert into web_sessions (client_id, user_id, token_hash, user_role, agency_id, active_client_id,"
            " ip, user_agent, expires_at) values (%s, %s, %s, %s, %s, %s, %s, %s, now() + %s) returning id",
            (
                person["client_id"],
                person["id"],
                token_hash,
                person["role"] or "member",
                agency_id,
                person["client_id"],
                ip,
                (user_agent or "")[:300] or None,
                lifetime,
            ),
        )
    ).fetchone()
    assert row is not None
    session_id: UUID = row["id"]
    return session_id


async def session_by_hash(conn: Conn, token_hash: bytes) -> dict[str, Any] | None:
    """The session with what it may do now: its user as they are, the staff flag, the current client."""
    return await (
        await conn.execute(
            "select s.id, s.user_id, s.client_id, s.user_role, s.agency_id, s.active_client_id,"
            " s.revoked_at, s.expires_at <= now() as expired,"
            " u.email, u.first_name, u.last_name, u.role, u.client_id as user_client_id,"
            " c.agency_id as user_agency_id, c.name as user_client_name,"
            " coalesce(cr.agency_staff, false) as agency_staff,"
            " ac.agency_id as active_agency_id, ac.name as active_client_name"
            " from web_sessions s join users u on u.id = s.user_id join clients c on c.id = u.client_id"
            " left join user_credentials cr on cr.user_id = u.id"
            " left join clients ac on ac.id = s.active_client_id"
            " where s.token_hash = %s",
            (token_hash,),
        )
    ).fetchone()


async def revoke_session(conn: Conn, session_id: UUID, reason: str) -> None:
    await conn.execute(
        "update web_sessions set revoked_at = now(), revoked_reason = %s where id = %s and revoked_at is null",
        (reason, session_id),
    )


async def revoke_user_sessions(conn: Conn, user_id: UUID, reason: str) -> int:
    cur = await conn.execute(
        "update web_sessions set revoked_at = now(), revoked_reason = %s"
        " where user_id = %s and revoked_at is null",
        (reason, user_id),
    )
    return cur.rowcount


async def set_active_client(conn: Conn, session_id: UUID, client_id: UUID, agency_id: UUID) -> bool:
    """Point a staff session at another client of its agency; False when the client is not one of them."""
    cur = await conn.execute(
        "update web_sessions s set active_client_id = c.id from clients c"
        " where s.id = %s and c.id = %s and c.agency_id = %s and s.agency_id = %s",
        (session_id, client_id, agency_id, agency_id),
    )
    return cur.rowcount == 1


# --- one-time links ----------------------------------------------------------------------------------------


async def insert_token(
    conn: Conn,
    *,
    client_id: UUID,
    user_id: UUID,
    purpose: str,
    token_hash: bytes,
    lifetime: timedelta,
    created_by: UUID | None,
) -> None:
    await conn.execute(
        "insert into user_tokens (client_id, user_id, purpose, token_hash, created_by, expires_at)"
        " values (%s, %s, %s, %s, %s, now() + %s)",
        (client_id, user_id, purpose, token_hash, created_by, lifetime),
    )


async def token_by_hash(conn: Conn, token_hash: bytes, *, lock: bool = False) -> dict[str, Any] | None:
    return await (
        await conn.execute(
            "select t.id, t.user_id, t.client_id, t.purpose, t.used_at, t.expires_at <= now() as expired,"
            " u.email from user_tokens t join users u on u.id = t.user_id where t.token_hash = %s"
            + (" for update of t" if lock else ""),
            (token_hash,),
        )
    ).fetchone()


async def use_tokens(conn: Conn, user_id: UUID, purpose: str) -> None:
    """The link is used, and every other open link of the same kind for the user dies with it."""
    await conn.execute(
        "update user_tokens set used_at = now() where user_id = %s and purpose = %s and used_at is null",
        (user_id, purpose),
    )


async def pending_invitations(conn: Conn, user_ids: list[UUID]) -> set[UUID]:
    rows = await (
        await conn.execute(
            "select distinct user_id from user_tokens where user_id = any(%s) and purpose = 'invite'"
            " and used_at is null and expires_at > now()",
            (user_ids,),
        )
    ).fetchall()
    return {r["user_id"] for r in rows}


# --- sign-in attempts --------------------------------------------------------------------------------------


async def lock_account_key(conn: Conn, account_key: str) -> None:
    """Serialise the attempts on one account, so concurrent guesses cannot pass the limit together."""
    # 1920364404: a key space of its own, next to the audit chain's 'rvos' (1920364403).
    await conn.execute("select pg_advisory_xact_lock(1920364404, hashtext(%s))", (account_key,))


async def recent_failures(conn: Conn, account_key: str, ip: str, window: timedelta) -> dict[str, Any]:
    """Failures since the window began (for the account, since its last success too) and the oldest of
    each, so the refusal can say when attempts are accepted again."""
    row = await (
        await conn.execute(
            "with last_ok as (select max(attempted_at) as at from sign_in_attempts"
            "  where account_key = %(key)s and succeeded)"
            " select"
            " (select count(*) from sign_in_attempts, last_ok where account_key = %(key)s and not succeeded"
            "   and attempted_at > now() - %(window)s and attempted_at > coalesce(last_ok.at, '-infinity'))"
            "   as by_account,"
            " (select min(attempted_at) + %(window)s - now() from sign_in_attempts, last_ok"
            "   where account_key = %(key)s and not succeeded and attempted_at > now() - %(window)s"
            "   and attempted_at > coalesce(last_ok.at, '-infinity')) as account_wait,"
            " (select count(*) from sign_in_attempts where ip = %(ip)s and not succeeded"
            "   and attempted_at > now() - %(window)s) as by_ip,"
            " (select min(attempted_at) + %(window)s - now() from sign_in_attempts where ip = %(ip)s"
            "   and not succeeded and attempted_at > now() - %(window)s) as ip_wait",
            {"key": account_key, "ip": ip, "window": window},
        )
    ).fetchone()
    assert row is not None
    return row


async def record_attempt(conn: Conn, account_key: str, ip: str, succeeded: bool, window: timedelta) -> None:
    await conn.execute(
        "insert into sign_in_attempts (account_key, ip, succeeded) values (%s, %s, %s)",
        (account_key, ip, succeeded),
    )
    # Attempts older than the window (and a day) count no more: keep the table small.
    await conn.execute(
        "delete from sign_in_attempts where attempted_at < now() - greatest(interval '1 day', %s)", (window,)
    )


async def recent_token(conn: Conn, user_id: UUID, purpose: str, within: timedelta) -> bool:
    """Whether a link of `purpose` was made for the person within `within` (by the database's clock)."""
    row = await (
        await conn.execute(
            "select exists (select 1 from user_tokens where user_id = %s and purpose = %s"
            " and created_at > now() - %s) as recent",
            (user_id, purpose, within),
        )
    ).fetchone()
    return bool(row and row["recent"])
