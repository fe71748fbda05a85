"""What a dashboard route depends on: the signed-in person (`PageDep`) or an anonymous visitor (`AnonDep`).

`PageDep` gives a `Page`: the session (who, which client), `page.ctx`, the very `revos.api.deps.Ctx` the
API builds for a JWT (same claims, same `ctx.require(permission)`, same RLS-scoped `ctx.tx()`), and the
helpers to answer (`render`, `redirect`). Both dependencies check the CSRF token of every state-changing
request before the route runs: a missing or wrong token is a 403 and nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

import psycopg
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from markupsafe import Markup
from starlette.datastructures import FormData

from revos.api.deps import Ctx, get_runtime
from revos.db.pool import Conn
from revos.errors import Forbidden, RevosError
from revos.identity import service as identity
from revos.runtime import Runtime
from revos.security.jwt import Claims
from revos.tenancy import service as tenancy
from revos.web import nav, security
from revos.web.render import render


class SignInRequired(Exception):
    """No valid session: the visitor is sent to the sign-in page."""


def client_ip(request: Request) -> str:
    # uvicorn rewrites request.client from X-Forwarded-For only for its trusted proxies
    # (--forwarded-allow-ips), so this is never taken from a header a visitor controls.
    return request.client.host if request.client else "unknown"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def _check_csrf(request: Request, secret: str, binding: bytes) -> None:
    if request.method in security.SAFE_METHODS:
        return
    presented = request.headers.get(security.CSRF_HEADER)
    if not presented:
        form = await request.form()
        value = form.get(security.CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not security.csrf_matches(secret, binding, presented):
        raise Forbidden("The form expired or did not come from this site (CSRF check). Reload and try again.")


@dataclass
class _Base:
    request: Request
    runtime: Runtime
    csrf_token: str
    _cookies: list[tuple[str, str | None]] = field(default_factory=list)
    _flashes: list[tuple[str, str]] = field(default_factory=list)

    async def form(self) -> FormData:
        return await self.request.form()

    async def field(self, name: str, default: str = "") -> str:
        """One text field of the posted form, stripped of surrounding blanks."""
        value = (await self.form()).get(name)
        return value.strip() if isinstance(value, str) else default

    def flash(self, text: str, level: str = "info") -> None:
        """A message for the next page shown (levels: info, success, error)."""
        self._flashes.append((level, text))

    def redirect(self, path: str, *, flash: str | None = None, error: str | None = None) -> Response:
        """303 to `path` (Post/Redirect/Get), with a message for the page it lands on."""
        if flash:
            self.flash(flash, "success")
        if error:
            self.flash(error, "error")
        response = RedirectResponse(path, status_code=303)
        self._finish(response, keep_flashes=True)
        return response

    def _finish(self, response: Response, *, keep_flashes: bool) -> None:
        secret = self.runtime.jwt_secret
        for name, value in self._cookies:
            if value is None:
                response.delete_cookie(name, path=security.PREFIX)
            else:
                set_cookie(response, self.runtime, name, value)
        if keep_flashes and self._flashes:
            set_cookie(
                response, self.runtime, security.FLASH_COOKIE, security.sign_flash(secret, self._flashes)
            )
        elif security.FLASH_COOKIE in self.request.cookies:
            response.delete_cookie(security.FLASH_COOKIE, path=security.PREFIX)

    def _context(self, extra: dict[str, Any]) -> dict[str, Any]:
        flashes = security.read_flash(
            self.runtime.jwt_secret, self.request.cookies.get(security.FLASH_COOKIE)
        )
        token = self.csrf_token
        return {
            "request": self.request,
            "csrf_token": token,
            "csrf_field": lambda: _hidden(token),
            "flashes": flashes + self._flashes,
            "htmx": is_htmx(self.request),
            "page": None,
            "session": None,
            "nav": [],
            "path": self.request.url.path,
            **extra,
        }

    def set_session_cookie(self, token: str) -> None:
        """Sign this browser in with a session token (identity.sign_in / redeem_link / change_password)."""
        self._cookies.append((security.SESSION_COOKIE, token))

    def end_session_cookie(self) -> None:
        self._cookies.append((security.SESSION_COOKIE, None))

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        response = HTMLResponse(render(template, self._context(context)), status_code=status)
        self._finish(response, keep_flashes=False)
        return response


def _hidden(token: str) -> Any:
    # Markup.format escapes its arguments: the token cannot break out of the attribute.
    return Markup('<input type="hidden" name="{}" value="{}">').format(security.CSRF_FIELD, token)


def set_cookie(response: Response, runtime: Runtime, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        path=security.PREFIX,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.is_production,
        max_age=int(runtime.settings.web_session_hours * 3600) if name == security.SESSION_COOKIE else None,
    )


@dataclass(kw_only=True)
class Page(_Base):
    """A signed-in request. `ctx` is the API's Ctx for this person in their current client."""

    session: identity.Session
    ctx: Ctx
    agency_clients: list[dict[str, Any]] = field(default_factory=list)  # staff: for the client switcher

    def require(self, permission: str) -> None:
        """403 unless the person may `permission` (revos.api.permissions.MATRIX) in the current client."""
        self.ctx.require(permission)

    def tx(self) -> Any:
        """The RLS-scoped transaction of the API (`Ctx.tx()`): pass it to the domain services."""
        return self.ctx.tx()

    @property
    def client_id(self) -> Any:
        """The client the pages act in (agency staff switch it in the header)."""
        return self.session.active_client_id

    @asynccontextmanager
    async def agency_tx(self) -> AsyncIterator[Conn]:
        """Agency staff only: a transaction reaching every client of the agency (the clients page)."""
        if self.session.agency_id is None:
            raise Forbidden("only agency staff reach every client of the agency")
        claims = Claims(sub=str(self.session.user_id), agency_id=self.session.agency_id, user_role="admin")
        async with self.runtime.db.tenant(claims.for_database()) as conn:
            yield conn

    def _context(self, extra: dict[str, Any]) -> dict[str, Any]:
        items = nav.visible(self.ctx.claims, agency_staff=self.session.agency_staff)
        return super()._context({"page": self, "session": self.session, "nav": items, **extra})


@dataclass
class Anon(_Base):
    """A request without a session (sign-in, invitation and reset links)."""


def claims_for(session: identity.Session) -> Claims:
    """The claims a session acts with: a person in their client, or agency staff in the client they
    switched to (as that client's admin: RLS keeps them to it; `Page.agency_tx` reaches every client)."""
    if session.agency_id is not None:
        return Claims(
            sub=str(session.user_id),
            client_id=session.active_client_id,
            agency_id=session.agency_id,
            user_role="admin",
        )
    return Claims(sub=str(session.user_id), client_id=session.client_id, user_role=session.role)  # type: ignore[arg-type]


async def current_session(request: Request) -> identity.Session | None:
    token = request.cookies.get(security.SESSION_COOKIE)
    if not token:
        return None
    runtime = get_runtime(request)
    async with runtime.db.service(actor="web-session") as conn:
        return await identity.session_for(conn, token)


async def get_page(request: Request) -> Page:
    session = await current_session(request)
    if session is None:
        raise SignInRequired
    runtime = get_runtime(request)
    await _check_csrf(request, runtime.jwt_secret, session.id.bytes)
    claims = claims_for(session)
    ctx = Ctx(runtime, claims, user_id=session.user_id, user_client_id=session.client_id)
    token = security.csrf_token(runtime.jwt_secret, session.id.bytes)
    page = Page(request=request, runtime=runtime, csrf_token=token, session=session, ctx=ctx)
    if session.agency_id is not None and request.method in security.SAFE_METHODS and not is_htmx(request):
        async with page.agency_tx() as conn:
            page.agency_clients, _ = await tenancy.list_clients(conn, limit=200)
        page.agency_clients.sort(key=lambda r: str(r["name"]).lower())
    return page


async def get_anon(request: Request) -> Anon:
    runtime = get_runtime(request)
    anon_id = request.cookies.get(security.ANON_COOKIE)
    cookies: list[tuple[str, str | None]] = []
    if not anon_id:
        if request.method not in security.SAFE_METHODS:
            raise Forbidden("Cookies are needed to sign in: enable them for this site and reload the page.")
        anon_id = security.new_anon_id()
        cookies.append((security.ANON_COOKIE, anon_id))
    await _check_csrf(request, runtime.jwt_secret, anon_id.encode())
    token = security.csrf_token(runtime.jwt_secret, anon_id.encode())
    return Anon(request=request, runtime=runtime, csrf_token=token, _cookies=cookies)


PageDep = Annotated[Page, Depends(get_page)]
AnonDep = Annotated[Anon, Depends(get_anon)]


def _error_page(request: Request, status: int, message: str) -> Response:
    html = render("error.html", {"code": status, "message": message, "htmx": is_htmx(request)})
    return HTMLResponse(html, status_code=status)


class WebRoute(APIRoute):
    """Dashboard routes answer in HTML: a refusal is an error page, a missing session a trip to sign-in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = "/app/sign-in"
                if request.method == "GET" and request.url.path not in ("/app", "/app/"):
                    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    target += "?next=" + quote(path, safe="")
                if is_htmx(request):
                    return Response(status_code=401, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except RevosError as exc:
                return _error_page(request, exc.status_code, exc.message)
            except RequestValidationError:  # a malformed query or path parameter
                return _error_page(request, 422, "The address has a malformed parameter.")
            except psycopg.errors.InsufficientPrivilege:  # RLS refused a write outside the tenant
                return _error_page(request, 403, "Not allowed for this client.")

        return web_handler
