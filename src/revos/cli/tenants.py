"""`revos agency …`: what a self-hosting operator runs to create agencies and get the first token."""

from __future__ import annotations

import re
from uuid import UUID

import typer

from revos.cli.common import console, run
from revos.config import get_settings
from revos.errors import ValidationFailed
from revos.runtime import Runtime
from revos.security import jwt as jwt_tokens
from revos.tenancy import repo, service

app = typer.Typer(help="Agencies: create one with its first admin, issue staff tokens.", no_args_is_help=True)
# A staff token reaches every client of the agency: a week at most, then issue a new one.
MAX_TTL_HOURS = 7 * 24
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@app.command("create")
def create(
    name: str = typer.Argument(..., help="the agency's name"),
    slug: str = typer.Option(..., help="unique short name: lower-case letters, digits and dashes"),
    admin_email: str = typer.Option(..., "--admin-email", help="the first admin user"),
    client_name: str = typer.Option(None, help="the agency's own first client (default: the agency's name)"),
    ttl_hours: int = typer.Option(24, min=1, max=MAX_TTL_HOURS, help="lifetime of the printed token"),
) -> None:
    """Create an agency, its first client and an admin user; print an agency-staff JWT."""
    if not SLUG.match(slug):
        raise typer.BadParameter("lower-case letters, digits and dashes, at most 63", param_hint="--slug")
    if "@" not in admin_email:
        raise typer.BadParameter("not an email address", param_hint="--admin-email")

    async def _create() -> tuple[UUID, UUID, UUID, str]:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            async with rt.db.service(actor="cli:agency-create") as conn:
                agency_id, client_id, user_id = await service.create_agency_with_admin(
                    conn, name=name, slug=slug, client_name=client_name or name, admin_email=admin_email
                )
            return agency_id, client_id, user_id, _staff_token(rt, user_id, agency_id, ttl_hours)
        finally:
            await rt.close()

    agency_id, client_id, user_id, token = run(_create())
    console.print(f"agency {agency_id} ({name}), client {client_id}, admin user {user_id}")
    print(f"agency admin JWT (valid {ttl_hours} h): {token}", flush=True)


@app.command("token")
def token(
    user_id: str = typer.Argument(..., help="an admin user of the agency"),
    ttl_hours: int = typer.Option(24, min=1, max=MAX_TTL_HOURS, help="lifetime of the token"),
    operator: bool = typer.Option(
        False,
        "--operator",
        help="an operator token: may also write the system cartridges every client shares",
    ),
) -> None:
    """Issue an agency-staff JWT for an existing admin user (their agency is looked up)."""

    async def _issue() -> str:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            async with rt.db.service(actor="cli:agency-token") as conn:
                row = await repo.agency_admin(conn, _uuid(user_id))
            if row is None or row["role"] != "admin" or row["agency_id"] is None:
                raise ValidationFailed("no admin user with that id in an agency")
            return _staff_token(rt, row["id"], row["agency_id"], ttl_hours, operator=operator)
        finally:
            await rt.close()

    print(run(_issue()), flush=True)


@app.command("revoke-tokens")
def revoke_tokens(user_id: str = typer.Argument(..., help="the user whose tokens stop working")) -> None:
    """End every JWT issued to a user so far (staff tokens included); new ones can be issued after."""

    async def _revoke() -> None:
        rt = Runtime.build(get_settings())
        await rt.open()
        try:
            async with rt.db.service(actor="cli:revoke-tokens") as conn:
                await service.revoke_user_tokens(conn, _uuid(user_id))
        finally:
            await rt.close()

    run(_revoke())
    console.print(f"every token of user {user_id} issued until now is revoked")


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a user id (a UUID)") from None


def _staff_token(
    rt: Runtime, user_id: UUID, agency_id: UUID, ttl_hours: int, *, operator: bool = False
) -> str:
    claims = jwt_tokens.Claims(sub=str(user_id), agency_id=agency_id, user_role="admin", operator=operator)
    return jwt_tokens.issue(
        claims, rt.jwt_secret, ttl_seconds=ttl_hours * 3600, issuer=rt.settings.jwt_issuer
    )
