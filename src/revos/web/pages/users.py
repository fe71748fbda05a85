"""Users and API keys of the current client (admins): invite, change role, remove, reset link;
create an API key (its secret shown once), revoke one. Everything through the tenancy and identity
services, in the person's RLS transaction."""

from __future__ import annotations

from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from revos.errors import RevosError, ValidationFailed
from revos.identity import mail
from revos.identity import service as identity
from revos.tenancy import schemas
from revos.tenancy import service as tenancy
from revos.web.deps import Page, PageDep
from revos.web.pages import page_router

router = page_router()
ROLES = ("admin", "manager", "member")


def _refusal(exc: ValidationError) -> ValidationFailed:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return ValidationFailed(f"{where}: {first.get('msg', 'invalid')}" if where else "invalid input")


async def _show(page: Page, *, status: int = 200, **extra: object) -> HTMLResponse:
    async with page.tx() as conn:
        users, _ = await tenancy.list_users(conn, limit=200)
        keys, _ = await tenancy.list_api_keys(conn, limit=200)
        pending = await identity.pending_invitations(conn, [u["id"] for u in users])
    context = {"new_link": None, "new_key": None, "link_mailed": False} | extra
    return page.render(
        "users.html", status=status, title="Users & API keys", users=users, keys=keys, pending=pending,
        roles=ROLES, **context,
    )  # fmt: skip


def _link(page: Page, purpose: str, token: str) -> str:
    return f"{str(page.request.base_url).rstrip('/')}/app/{purpose}/{token}"


@router.get("/users")
async def users(page: PageDep) -> HTMLResponse:
    page.require("users.manage")
    return await _show(page)


@router.post("/users/invite")
async def invite(page: PageDep) -> Response:
    page.require("users.manage")
    try:
        body = schemas.UserCreate(email=await page.field("email"), role=await page.field("role") or "member")  # type: ignore[arg-type]
    except ValidationError as exc:
        return page.redirect("/app/users", error=_refusal(exc).message)
    try:
        async with page.tx() as conn:
            user = await tenancy.create_user(conn, page.client_id, body)
            token = await identity.create_link(
                conn,
                page.runtime.settings,
                user_id=user["id"],
                client_id=page.client_id,
                purpose="invite",
                created_by=page.ctx.user_in(page.client_id),
            )
    except RevosError as exc:
        return page.redirect("/app/users", error=exc.message)
    link = _link(page, "invite", token)
    mailed = await mail.send_link(page.runtime.settings, to=user["email"], purpose="invite", link=link)
    page.flash(f"{user['email']} is invited as {user['role']}.", "success")
    return await _show(page, new_link=None if mailed else link, link_mailed=mailed, link_email=user["email"])


@router.post("/users/{user_id}/role")
async def change_role(page: PageDep, user_id: UUID) -> Response:
    page.require("users.manage")
    if user_id == page.session.user_id:
        return page.redirect("/app/users", error="You cannot change your own role.")
    try:
        body = schemas.UserUpdate(role=await page.field("role"))  # type: ignore[arg-type]
        async with page.tx() as conn:
            user = await tenancy.update_user(conn, user_id, body)
    except ValidationError as exc:
        return page.redirect("/app/users", error=_refusal(exc).message)
    except RevosError as exc:
        return page.redirect("/app/users", error=exc.message)
    return page.redirect("/app/users", flash=f"{user['email']} is now {user['role']}; their sessions ended.")


@router.post("/users/{user_id}/remove")
async def remove(page: PageDep, user_id: UUID) -> Response:
    page.require("users.manage")
    if user_id == page.session.user_id:
        return page.redirect("/app/users", error="You cannot remove yourself.")
    try:
        async with page.tx() as conn:
            await tenancy.delete_user(conn, user_id)
    except RevosError as exc:
        return page.redirect("/app/users", error=exc.message)
    return page.redirect("/app/users", flash="The user is removed.")


@router.post("/users/{user_id}/reset-link")
async def reset_link(page: PageDep, user_id: UUID) -> Response:
    page.require("users.manage")
    try:
        async with page.tx() as conn:
            emails = await tenancy.user_emails(conn, [user_id])
            if user_id not in emails:
                raise ValidationFailed("user not found")
            token = await identity.create_link(
                conn,
                page.runtime.settings,
                user_id=user_id,
                client_id=page.client_id,
                purpose="reset",
                created_by=page.ctx.user_in(page.client_id),
            )
    except RevosError as exc:
        return page.redirect("/app/users", error=exc.message)
    link = _link(page, "reset", token)
    mailed = await mail.send_link(page.runtime.settings, to=emails[user_id], purpose="reset", link=link)
    return await _show(
        page, new_link=None if mailed else link, link_mailed=mailed, link_email=emails[user_id]
    )


@router.post("/api-keys")
async def create_api_key(page: PageDep) -> Response:
    page.require("api_keys.manage")
    try:
        body = schemas.ApiKeyCreate(name=await page.field("name"), role=await page.field("role") or "member")  # type: ignore[arg-type]
    except ValidationError as exc:
        return page.redirect("/app/users", error=_refusal(exc).message)
    async with page.tx() as conn:
        row, key = await tenancy.create_api_key(
            conn,
            client_id=page.client_id,
            name=body.name,
            role=body.role,
            created_by=page.ctx.user_in(page.client_id),
        )
    page.flash(f"API key {row['name']} created. Copy its secret now: it is not shown again.", "success")
    return await _show(page, new_key=key)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(page: PageDep, key_id: UUID) -> Response:
    page.require("api_keys.manage")
    try:
        async with page.tx() as conn:
            row = await tenancy.revoke_api_key(conn, key_id)
    except RevosError as exc:
        return page.redirect("/app/users", error=exc.message)
    return page.redirect("/app/users", flash=f"API key {row['name']} is revoked.")
