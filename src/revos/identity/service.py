"""Sign-in rules: who may open a session, what a session may do now, one-time links, rate limits.

Everything here but `create_invitation` runs as the service role (the caller opens `db.service()`):
a cookie or an email is not a tenant yet. Scoping is by the ids the rows name. Services never commit;
a refusal that must still be recorded (a failed sign-in) is returned, not raised, so the caller commits
the record and then refuses."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import NotFound, RevosError, ValidationFailed
from revos.identity import passwords, repo
from revos.tenancy import service as tenancy

WRONG_CREDENTIALS = "Wrong email or password."

# Self-service reset links (/app/forgot): at most one mailed per person in this interval.
RESET_MAIL_INTERVAL = timedelta(minutes=5)


class TooManyAttempts(RevosError):
    status_code = 429
    code = "rate_limited"


def new_secret() -> tuple[str, bytes]:
    """A random token for a cookie or a link, and the hash that is stored instead of it."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: a session token, or the refusal to show."""

    token: str | None = None
    refusal: RevosError | None = None


def _minutes(wait: timedelta | None) -> int:
    seconds = wait.total_seconds() if wait else 60
    return max(1, int(seconds // 60) + (1 if seconds % 60 else 0))


async def sign_in(
    conn: Conn, settings: Settings, *, email: str, password: str, ip: str, user_agent: str | None
) -> SignIn:
    key = account_key(email)
    await repo.lock_account_key(conn, key)
    window = timedelta(minutes=settings.web_signin_window_minutes)
    failures = await repo.recent_failures(conn, key, ip, window)
    if failures["by_account"] >= settings.web_signin_max_per_account:
        return SignIn(
            refusal=TooManyAttempts(
                "Too many failed sign-ins for this account. "
                f"Try again in {_minutes(failures['account_wait'])} minute(s), or reset your password."
            )
        )
    if failures["by_ip"] >= settings.web_signin_max_per_address:
        return SignIn(
            refusal=TooManyAttempts(
                "Too many failed sign-ins from your network address. "
                f"Try again in {_minutes(failures['ip_wait'])} minute(s)."
            )
        )
    person = await repo.person_by_email(conn, email.strip())
    ok = await passwords.verify(password, person["password_hash"] if person else None)
    await repo.record_attempt(conn, key, ip, ok, window)
    if not ok or person is None:
        return SignIn(refusal=RevosError(WRONG_CREDENTIALS, status_code=401))
    return SignIn(token=await open_session(conn, settings, person, ip=ip, user_agent=user_agent))


async def open_session(
    conn: Conn, settings: Settings, person: dict[str, Any], *, ip: str | None, user_agent: str | None
) -> str:
    token, token_hash = new_secret()
    staff = person["agency_staff"] and person["role"] == "admin" and person["agency_id"] is not None
    await repo.insert_session(
        conn,
        token_hash=token_hash,
        person=person,
        agency_id=person["agency_id"] if staff else None,
        lifetime=timedelta(hours=settings.web_session_hours),
        ip=ip,
        user_agent=user_agent,
    )
    await tenancy.record_login(conn, person["id"])
    return token


@dataclass(frozen=True)
class Session:
    """A valid session, as its user is now."""

    id: UUID
    user_id: UUID
    email: str
    name: str
    role: str
    client_id: UUID  # the user's own client
    client_name: str
    agency_id: UUID | None  # set for agency staff
    active_client_id: UUID  # the client the pages act in (the own client, unless staff switched)
    active_client_name: str

    @property
    def agency_staff(self) -> bool:
        return self.agency_id is not None


async def session_for(conn: Conn, token: str) -> Session | None:
    """The session behind a cookie, or None when it is unknown, expired, revoked or no longer matches
    its user (deleted, demoted, moved, no longer staff): such a session is ended here and now."""
    row = await repo.session_by_hash(conn, digest(token))
    if row is None or row["revoked_at"] is not None:
        return None
    reason = None
    if row["expired"]:
        reason = "expired"
    elif (row["role"] or "member") != row["user_role"] or row["user_client_id"] != row["client_id"]:
        reason = "user changed"
    elif row["agency_id"] is not None and (
        not row["agency_staff"] or row["user_agency_id"] != row["agency_id"] or row["role"] != "admin"
    ):
        reason = "no longer agency staff"
    if reason is not None:
        await repo.revoke_session(conn, row["id"], reason)
        return None
    active, active_name = row["client_id"], row["user_client_name"]
    if row["agency_id"] is not None and row["active_agency_id"] == row["agency_id"]:
        active, active_name = row["active_client_id"], row["active_client_name"]
    name = " ".join(p for p in (row["first_name"], row["last_name"]) if p) or row["email"]
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        email=row["email"],
        name=name,
        role=row["role"] or "member",
        client_id=row["client_id"],
        client_name=row["user_client_name"],
        agency_id=row["agency_id"],
        active_client_id=active,
        active_client_name=active_name,
    )


async def sign_out(conn: Conn, token: str) -> None:
    row = await repo.session_by_hash(conn, digest(token))
    if row is not None:
        await repo.revoke_session(conn, row["id"], "signed out")


async def switch_client(conn: Conn, session: Session, client_id: UUID) -> None:
    if session.agency_id is None:
        raise NotFound("client not found")
    if not await repo.set_active_client(conn, session.id, client_id, session.agency_id):
        raise NotFound("client not found")


async def set_password(conn: Conn, settings: Settings, user_id: UUID, password: str) -> None:
    """Set a user's password and end every session they have (the caller may open a new one)."""
    person = await repo.person_by_id(conn, user_id)
    if person is None:
        raise NotFound("user not found")
    passwords.check_strength(password, min_length=settings.web_password_min_length, email=person["email"])
    await repo.set_password_hash(conn, user_id, person["client_id"], await passwords.hash_password(password))
    await repo.revoke_user_sessions(conn, user_id, "password changed")


async def change_password(
    conn: Conn, settings: Settings, session: Session, *, current: str, new: str, ip: str | None,
    user_agent: str | None,
) -> str:  # fmt: skip
    """The signed-in person changes their password: every session ends, this browser gets a new one."""
    person = await repo.person_by_id(conn, session.user_id)
    if person is None or not await passwords.verify(current, person["password_hash"]):
        raise ValidationFailed("the current password is wrong")
    await set_password(conn, settings, session.user_id, new)
    person = await repo.person_by_id(conn, session.user_id)
    assert person is not None
    return await open_session(conn, settings, person, ip=ip, user_agent=user_agent)


async def set_agency_staff(conn: Conn, user_id: UUID, staff: bool) -> None:
    person = await repo.person_by_id(conn, user_id)
    if person is None:
        raise NotFound("user not found")
    if staff and (person["role"] != "admin" or person["agency_id"] is None):
        raise ValidationFailed("only an admin of a client that belongs to an agency can be agency staff")
    await repo.set_agency_staff(conn, user_id, person["client_id"], staff)
    if not staff:
        await repo.revoke_user_sessions(conn, user_id, "no longer agency staff")


# --- one-time links ----------------------------------------------------------------------------------------


async def create_link(
    conn: Conn,
    settings: Settings,
    *,
    user_id: UUID,
    client_id: UUID,
    purpose: str,
    created_by: UUID | None = None,
) -> str:
    """A one-time link token for the user ('invite' or 'reset'); only its hash is stored. Runs in the
    admin's RLS transaction (an invitation) or as the service role (the CLI, a reset)."""
    token, token_hash = new_secret()
    lifetime = (
        timedelta(hours=settings.web_invite_hours)
        if purpose == "invite"
        else timedelta(minutes=settings.web_reset_minutes)
    )
    await repo.insert_token(
        conn,
        client_id=client_id,
        user_id=user_id,
        purpose=purpose,
        token_hash=token_hash,
        lifetime=lifetime,
        created_by=created_by,
    )
    return token


async def reset_link_for(
    conn: Conn, settings: Settings, email: str, *, throttled: bool = False
) -> tuple[str, str] | None:
    """(token, email) of a new reset link for the account, None when there is no such person. `throttled`
    (anyone may ask, at /app/forgot): also None when one was made for them within RESET_MAIL_INTERVAL,
    so nobody floods a mailbox through the form (the earlier link still works)."""
    person = await repo.person_by_email(conn, email.strip())
    if person is None:
        return None
    if throttled and await repo.recent_token(conn, person["id"], "reset", RESET_MAIL_INTERVAL):
        return None
    token = await create_link(
        conn, settings, user_id=person["id"], client_id=person["client_id"], purpose="reset"
    )
    return token, person["email"]


async def link(conn: Conn, token: str) -> dict[str, Any]:
    """The open link behind a token (its purpose and the person's email), or NotFound."""
    row = await repo.token_by_hash(conn, digest(token))
    if row is None or row["used_at"] is not None or row["expired"]:
        raise NotFound("This link is not valid: it was used already, has expired, or never existed.")
    return row


async def redeem_link(
    conn: Conn, settings: Settings, token: str, password: str, *, ip: str | None, user_agent: str | None
) -> str:
    """Set the password through an invitation or reset link (once), and sign the person in."""
    row = await repo.token_by_hash(conn, digest(token), lock=True)
    if row is None or row["used_at"] is not None or row["expired"]:
        raise NotFound("This link is not valid: it was used already, has expired, or never existed.")
    await set_password(conn, settings, row["user_id"], password)
    await repo.use_tokens(conn, row["user_id"], row["purpose"])
    person = await repo.person_by_id(conn, row["user_id"])
    assert person is not None
    return await open_session(conn, settings, person, ip=ip, user_agent=user_agent)


async def pending_invitations(conn: Conn, user_ids: list[UUID]) -> set[UUID]:
    return await repo.pending_invitations(conn, user_ids) if user_ids else set()
