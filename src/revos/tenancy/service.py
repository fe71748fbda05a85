"""Rules for tenancy: who may create what where. Never commits: the caller owns the transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from revos.db import crud
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, ValidationFailed
from revos.magnets import service as magnet_files
from revos.security import apikeys
from revos.tenancy import repo, schemas


def _changes(model: Any) -> dict[str, Any]:
    return {
        k: (str(v) if k in {"website", "avatar_url"} and v is not None else v)
        for k, v in model.model_dump(exclude_unset=True).items()
    }


async def create_agency(conn: Conn, *, name: str, slug: str) -> dict[str, Any]:
    return await crud.insert(conn, "agencies", {"name": name, "slug": slug})


async def create_agency_with_admin(
    conn: Conn, *, name: str, slug: str, client_name: str, admin_email: str
) -> tuple[UUID, UUID, UUID]:
    """An operator's first step: an agency, its own first client and that client's admin user.
    Returns (agency, client, user) ids."""
    if await repo.agency_id_by_slug(conn, slug) is not None:
        raise Conflict(f"an agency with slug {slug!r} already exists")
    if await repo.user_id_by_email(conn, admin_email) is not None:
        raise ValidationFailed(f"a user with email {admin_email} already exists")
    agency = await create_agency(conn, name=name, slug=slug)
    client_id = await repo.insert_client_named(conn, agency["id"], client_name)
    user_id = await repo.insert_admin(conn, client_id, admin_email)
    return agency["id"], client_id, user_id


async def update_agency(conn: Conn, agency_id: UUID, body: schemas.AgencyUpdate) -> dict[str, Any]:
    row = await crud.update(conn, "agencies", agency_id, _changes(body))
    if row is None:
        raise NotFound("agency not found")
    return row


async def create_client(conn: Conn, agency_id: UUID, body: schemas.ClientCreate) -> dict[str, Any]:
    values = _changes(body) | {"agency_id": agency_id, "id": uuid4()}
    # No RETURNING: the new row only becomes visible to the staff's select policy (the set of
    # their agency's clients) from the next statement on.
    await crud.insert(conn, "clients", values, returning=False)
    row = await crud.get(conn, "clients", values["id"])
    assert row is not None
    return row


async def update_client(conn: Conn, client_id: UUID, body: schemas.ClientUpdate) -> dict[str, Any]:
    row = await crud.update(conn, "clients", client_id, _changes(body))
    if row is None:
        raise NotFound("client not found")
    return row


async def delete_client(conn: Conn, client_id: UUID) -> None:
    """The client's rows go with it (cascades); its lead-magnet files go once this transaction commits."""
    if not await crud.delete(conn, "clients", client_id):
        raise NotFound("client not found")
    await magnet_files.forget_client_files(conn, client_id)


async def create_user(conn: Conn, client_id: UUID, body: schemas.UserCreate) -> dict[str, Any]:
    if await repo.user_id_by_email(conn, str(body.email)) is not None:
        raise Conflict("a user with this email already exists")
    values = body.model_dump(exclude={"client_id"}) | {
        "client_id": client_id,
        "email": str(body.email).lower(),
    }
    return await crud.insert(conn, "users", values)


async def update_user(conn: Conn, user_id: UUID, body: schemas.UserUpdate) -> dict[str, Any]:
    row = await crud.update(conn, "users", user_id, _changes(body))
    if row is None:
        raise NotFound("user not found")
    return row


async def create_api_key(
    conn: Conn, *, client_id: UUID, name: str, role: str, created_by: UUID | None = None
) -> tuple[dict[str, Any], str]:
    """Returns the stored row (no secret) and the full key, which is never retrievable again."""
    new = apikeys.generate()
    row = await crud.insert(
        conn,
        "api_keys",
        {
            "client_id": client_id,
            "name": name,
            "role": role,
            "key_prefix": new.prefix,
            "key_hash": new.hash,
            "created_by": created_by,
        },
    )
    row.pop("key_hash", None)
    return row, new.plaintext


async def revoke_api_key(conn: Conn, key_id: UUID) -> dict[str, Any]:
    row = await repo.revoke_api_key(conn, key_id)
    if row is None:
        raise NotFound("API key not found")
    return row


async def revoke_user_tokens(conn: Conn, user_id: UUID) -> None:
    if not await repo.revoke_user_tokens(conn, user_id):
        raise NotFound("user not found")


async def record_login(conn: Conn, user_id: UUID) -> None:
    """The person signed in (the dashboard): shown on the users page."""
    await repo.record_login(conn, user_id)


async def list_users(
    conn: Conn, *, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's users (RLS), newest first."""
    return await crud.page(conn, "users", cursor=cursor, limit=limit)


async def delete_user(conn: Conn, user_id: UUID) -> None:
    if not await crud.delete(conn, "users", user_id):
        raise NotFound("user not found")


async def list_api_keys(
    conn: Conn, *, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str | None]:
    return await repo.list_api_keys(conn, cursor=cursor, limit=limit, client_id=None)


async def list_clients(
    conn: Conn, *, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str | None]:
    """The clients the caller reaches (RLS): their own, or every client of the agency for its staff."""
    return await crud.page(conn, "clients", cursor=cursor, limit=limit, tenant_column=None)


async def user_emails(conn: Conn, user_ids: list[UUID]) -> dict[UUID, str]:
    """Emails of the given users the caller may see (RLS); others are left out."""
    return await repo.user_emails(conn, user_ids) if user_ids else {}
