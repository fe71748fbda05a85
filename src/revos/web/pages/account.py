"""The signed-in person's own account: change the password (every other session ends)."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import HTMLResponse

from revos.errors import RevosError
from revos.identity import service as identity
from revos.web.deps import PageDep, client_ip
from revos.web.pages import page_router

router = page_router()


@router.get("/account")
async def account(page: PageDep) -> HTMLResponse:
    return page.render(
        "account.html", title="Your account", min_length=page.runtime.settings.web_password_min_length
    )


@router.post("/account/password")
async def change_password(page: PageDep) -> Response:
    form = await page.form()
    current, new, again = (
        str(form.get(n) or "") for n in ("current_password", "new_password", "new_password_again")
    )
    if new != again:
        return page.redirect("/app/account", error="The two new passwords differ.")
    try:
        async with page.runtime.db.service(actor=f"web:{page.session.user_id}") as conn:
            token = await identity.change_password(
                conn,
                page.runtime.settings,
                page.session,
                current=current,
                new=new,
                ip=client_ip(page.request),
                user_agent=page.request.headers.get("user-agent"),
            )
    except RevosError as exc:
        return page.redirect("/app/account", error=exc.message)
    page.set_session_cookie(token)
    return page.redirect("/app/account", flash="Password changed. Your other sessions are signed out.")
