"""`revos user …`: how an operator lets the first people into the dashboard (/app)."""

from __future__ import annotations

from uuid import UUID

import typer

from revos.cli.common import console, run
from revos.config import get_settings
from revos.errors import Conflict, NotFound, ValidationFailed
from revos.identity import mail
from revos.identity import repo as identity_repo
from revos.identity import service as identity
from revos.runtime import Runtime
from revos.tenancy import schemas
from revos.tenancy import service as tenancy

app = typer.Typer(help="Dashboard users: invitations and password-reset links.", no_args_is_help=True)
ROLES = ("admin", "manager", "member")


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a {what} id (a UUID)") from None


async def _deliver(rt: Runtime, email: str, purpose: str, token: str) -> str:
    link = f"{rt.settings.public_base_url.rstrip('/')}/app/{purpose}/{token}"
    if await mail.send_link(rt.settings, to=email, purpose=purpose, link=link):
        return f"mailed to {email}"
    return link


@app.command("invite")
def invite(
    email: str = typer.Argument(..., help="the person's email"),
    client: str = typer.Option(..., "--client", help="the client (id) the user belongs to"),
    role: str = typer.Option("member", "--role", help="admin, manager or member"),
    agency_staff: bool = typer.Option(
        False, "--agency-staff", help="an admin who works in every client of the client's agency"
    ),
) -> None:
    """Create the user (or reuse one who never set a password) and print a one-time invitation link
    (REVOS_PUBLIC_BASE_URL/app/invite/…), or mail it when REVOS_SMTP_HOST is set."""
    if role not in ROLES:
        raise typer.BadParameter("admin, manager or member", param_hint="--role")
    if agency_staff and role != "admin":
        raise typer.BadParameter("agency staff are admins: add --role admin", param_hint="--agency-staff")

    async def _invite() -> str:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            client_id = _uuid(client, "client")
            async with rt.db.service(actor="cli:user-invite") as conn:
                person = await identity_repo.person_by_email(conn, email)
                if person is None:
                    body = schemas.UserCreate.model_validate({"email": email, "role": role})
                    user = await tenancy.create_user(conn, client_id, body)
                    user_id = user["id"]
                elif person["client_id"] != client_id:
                    raise Conflict(f"{email} is a user of another client")
                elif person["password_hash"] is not None:
                    raise Conflict(f"{email} has a password already: use `revos user reset-link {email}`")
                else:
                    user_id = person["id"]
                    await tenancy.update_user(conn, user_id, schemas.UserUpdate(role=role))  # type: ignore[arg-type]
                if agency_staff:
                    await identity.set_agency_staff(conn, user_id, True)
                token = await identity.create_link(
                    conn, rt.settings, user_id=user_id, client_id=client_id, purpose="invite"
                )
            return await _deliver(rt, email, "invite", token)
        finally:
            await rt.close()

    outcome = run(_invite())
    console.print(f"{email} is invited as {'agency staff' if agency_staff else role}; the link works once:")
    print(outcome, flush=True)  # plain: a link must stay on one line to be copied


@app.command("reset-link")
def reset_link(email: str = typer.Argument(..., help="the person's email")) -> None:
    """Print a one-time password-reset link for the user (or mail it when REVOS_SMTP_HOST is set)."""

    async def _reset() -> str:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            async with rt.db.service(actor="cli:user-reset") as conn:
                found = await identity.reset_link_for(conn, rt.settings, email)
            if found is None:
                raise NotFound(f"no user with email {email}")
            return await _deliver(rt, found[1], "reset", found[0])
        finally:
            await rt.close()

    print(run(_reset()), flush=True)
