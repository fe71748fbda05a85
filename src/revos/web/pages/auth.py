"""Signing in and out, and the one-time links (invitation, password reset) that set a password."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import HTMLResponse

from revos.errors import RevosError
from revos.identity import mail
from revos.identity import service as identity
from revos.web import security
from revos.web.deps import AnonDep, PageDep, client_ip, current_session
from revos.web.pages import page_router

router = page_router()


def _safe_next(target: str | None) -> str:
    """Only a path of the dashboard itself (no open redirect through ?next=)."""
    if target and target.startswith("/app/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app/"


@router.get("/sign-in")
async def sign_in_form(anon: AnonDep, next: str | None = None) -> Response:
    if await current_session(anon.request) is not None:
        return anon.redirect(_safe_next(next))
    return anon.render("sign_in.html", title="Sign in", next=_safe_next(next), email="", error=None)


@router.post("/sign-in")
async def sign_in(anon: AnonDep) -> Response:
    email, password, target = (
        await anon.field("email"),
        str((await anon.form()).get("password") or ""),
        _safe_next(await anon.field("next")),
    )
    async with anon.runtime.db.service(actor="web-sign-in") as conn:
        outcome = await identity.sign_in(
            conn,
            anon.runtime.settings,
            email=email,
            password=password,
            ip=client_ip(anon.request),
            user_agent=anon.request.headers.get("user-agent"),
        )
    if outcome.token is None:
        refusal = outcome.refusal or RevosError(identity.WRONG_CREDENTIALS, status_code=401)
        return anon.render(
            "sign_in.html",
            status=refusal.status_code,
            title="Sign in",
            next=target,
            email=email,
            error=refusal.message,
        )
    anon.set_session_cookie(outcome.token)
    return anon.redirect(target)


@router.post("/sign-out")
async def sign_out(page: PageDep) -> Response:
    token = page.request.cookies.get(security.SESSION_COOKIE, "")
    async with page.runtime.db.service(actor=f"web:{page.session.user_id}") as conn:
        await identity.sign_out(conn, token)
    page.end_session_cookie()
    return page.redirect("/app/sign-in", flash="You are signed out.")


async def _link_form(anon: AnonDep, token: str, purpose: str) -> HTMLResponse:
    async with anon.runtime.db.service(actor="web-link") as conn:
        link = await identity.link(conn, token)
    if link["purpose"] != purpose:
        return anon.render("error.html", status=404, code=404, message="This link is not valid.")
    return anon.render(
        "set_password.html",
        title="Choose your password" if purpose == "invite" else "Reset your password",
        purpose=purpose,
        email=link["email"],
        action=f"/app/{purpose}/{token}",
        min_length=anon.runtime.settings.web_password_min_length,
        error=None,
    )


async def _redeem(anon: AnonDep, token: str, purpose: str) -> Response:
    form = await anon.form()
    password, again = str(form.get("password") or ""), str(form.get("password_again") or "")
    async with anon.runtime.db.service(actor="web-link") as conn:
        link = await identity.link(conn, token)
    error = "The two passwords differ." if password != again else None
    if link["purpose"] != purpose:
        error = "This link is not valid."
    if error is None:
        try:
            async with anon.runtime.db.service(actor="web-link") as conn:
                session_token = await identity.redeem_link(
                    conn,
                    anon.runtime.settings,
                    token,
                    password,
                    ip=client_ip(anon.request),
                    user_agent=anon.request.headers.get("user-agent"),
                )
        except RevosError as exc:
            error = exc.message
        else:
            anon.set_session_cookie(session_token)
            welcome = "Welcome to revOS." if purpose == "invite" else "Your password is changed."
            return anon.redirect("/app/", flash=welcome)
    return anon.render(
        "set_password.html",
        status=422,
        title="Choose your password" if purpose == "invite" else "Reset your password",
        purpose=purpose,
        email=link["email"],
        action=f"/app/{purpose}/{token}",
        min_length=anon.runtime.settings.web_password_min_length,
        error=error,
    )


@router.get("/invite/{token}")
async def invitation(anon: AnonDep, token: str) -> HTMLResponse:
    return await _link_form(anon, token, "invite")


@router.post("/invite/{token}")
async def accept_invitation(anon: AnonDep, token: str) -> Response:
    return await _redeem(anon, token, "invite")


@router.get("/reset/{token}")
async def reset(anon: AnonDep, token: str) -> HTMLResponse:
    return await _link_form(anon, token, "reset")


@router.post("/reset/{token}")
async def complete_reset(anon: AnonDep, token: str) -> Response:
    return await _redeem(anon, token, "reset")


@router.get("/forgot")
async def forgot_form(anon: AnonDep) -> HTMLResponse:
    return anon.render(
        "forgot.html", title="Forgot your password?", mail=mail.configured(anon.runtime.settings)
    )


@router.post("/forgot")
async def forgot(anon: AnonDep) -> Response:
    settings = anon.runtime.settings
    if not mail.configured(settings):
        return anon.redirect("/app/forgot")
    email = await anon.field("email")
    async with anon.runtime.db.service(actor="web-reset") as conn:
        found = await identity.reset_link_for(conn, settings, email, throttled=True)
    if found is not None:
        token, address = found
        base = str(anon.request.base_url).rstrip("/")
        await mail.send_link(settings, to=address, purpose="reset", link=f"{base}/app/reset/{token}")
    # The same answer whether or not the account exists: the page tells nobody who has one.
    return anon.redirect(
        "/app/sign-in", flash="If an account has that email, a reset link is on its way. It works once."
    )
