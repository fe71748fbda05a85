"""Hosted auth (spec §4.3): `POST /hosted/accounts/link` and the page a member connects on.

Unipile's recommended way to connect an account: the application asks for a link, sends its user there,
and the user types their LinkedIn login into Unipile's page, never into the application. When the account
is connected (or reconnected), Unipile POSTs `{status, account_id, name}` to the link's `notify_url` and
redirects the browser to `success_redirect_url`.

The page lives outside /api/v1 and needs no API key: a browser opens it. It is a plain HTML form, enough for
a test (or a person trying the demo) to play the member: login, then a code if LinkedIn asks for one.
"""

from __future__ import annotations

import html
import logging
import secrets
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from revos.sim.errors import SimError, invalid, missing
from revos.sim.http import read_payload, respond
from revos.sim.ids import ISO_MS, parse_iso_filter
from revos.sim.records import HostedLink, Notification

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator

log = logging.getLogger("revos.sim")
PAGE_PREFIX = "/hosted/"
PROVIDER_CHOICES = ("*", "*:MESSAGING")


def api_router(sim: Simulator) -> APIRouter:
    r = APIRouter()
    world = sim.world

    @r.post("/hosted/accounts/link")
    async def create_link(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        kind = payload.string("type", required=True)
        if kind not in ("create", "reconnect"):
            raise invalid("type must be create or reconnect")
        api_url = payload.string("api_url", required=True) or ""
        if not api_url.startswith(("http://", "https://")):
            raise SimError(400, "invalid_url", "api_url must be an http(s) URL")
        expires = payload.string("expiresOn", required=True) or ""
        if not ISO_MS.match(expires):
            raise invalid("expiresOn must match YYYY-MM-DDTHH:MM:SS.sssZ")
        expires_on = parse_iso_filter(expires, "expiresOn")
        assert expires_on is not None
        if expires_on <= world.now():
            raise invalid("expiresOn must be in the future")
        reconnect_account = None
        if kind == "create":
            providers = payload.fields.get("providers") or []
            if not providers:
                raise missing("providers")
            if not (providers[0] in PROVIDER_CHOICES or "LINKEDIN" in providers):
                raise invalid("providers must include LINKEDIN (this simulator models LinkedIn only)")
        else:
            reconnect_account = payload.string("reconnect_account", required=True)
            world.account(reconnect_account, usable=False)
        urls: dict[str, str | None] = {}
        for field in ("notify_url", "success_redirect_url", "failure_redirect_url"):
            value = payload.string(field)
            if value is not None and not value.startswith(("http://", "https://")):
                raise SimError(400, "invalid_url", f"{field} must be an http(s) URL")
            urls[field] = value
        link = HostedLink(
            token=secrets.token_urlsafe(24),
            type=kind,
            expires_on=expires_on,
            name=payload.string("name"),
            notify_url=urls["notify_url"],
            success_redirect_url=urls["success_redirect_url"],
            failure_redirect_url=urls["failure_redirect_url"],
            reconnect_account=reconnect_account,
        )
        sim.hosted_links[link.token] = link
        url = str(request.base_url).rstrip("/") + PAGE_PREFIX + link.token
        return respond({"object": "HostedAuthUrl", "url": url}, 201)

    return r


def page_router(sim: Simulator) -> APIRouter:
    r = APIRouter()

    def live_link(token: str) -> HostedLink | None:
        link = sim.hosted_links.get(token)
        if link is None or link.done or sim.world.now() >= link.expires_on:
            return None
        return link

    @r.get(PAGE_PREFIX + "{token}")
    async def page(token: str) -> Response:
        link = live_link(token)
        if link is None:
            return _page("This link has expired or was already used.", status=410)
        return _page("Connect your LinkedIn account", form=_login_form())

    @r.post(PAGE_PREFIX + "{token}")
    async def submit(token: str, request: Request) -> Response:
        link = live_link(token)
        if link is None:
            return _page("This link has expired or was already used.", status=410)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and v}
        try:
            if "code" in form and link.account_id:
                _, body = sim.auth.solve(
                    {"provider": "LINKEDIN", "account_id": link.account_id, "code": form["code"]}
                )
            else:
                _, body = sim.auth.connect(_credentials(form), reconnect=_reconnecting(sim, link))
        except SimError as exc:
            retry = _code_form() if "code" in form and link.account_id else _login_form()
            return _page(f"LinkedIn said: {exc.detail or exc.type}", form=retry, status=400)
        if body["object"] == "Checkpoint":
            link.account_id = body["account_id"]
            kind = body["checkpoint"]["type"]
            return _page(f"LinkedIn asks for a verification ({kind})", form=_code_form(), status=202)
        link.done = True
        status_name = "RECONNECTED" if link.type == "reconnect" else "CREATION_SUCCESS"
        await _notify(sim, link, {"status": status_name, "account_id": body["account_id"], "name": link.name})
        if link.success_redirect_url:
            return RedirectResponse(link.success_redirect_url, status_code=303)
        return _page("Your LinkedIn account is connected. You can close this page.")

    return r


def _credentials(form: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"provider": "LINKEDIN"}
    if form.get("access_token"):
        body["access_token"] = form["access_token"]
    else:
        body["username"], body["password"] = form.get("username"), form.get("password")
    return body


def _reconnecting(sim: Simulator, link: HostedLink) -> Any:
    if link.type != "reconnect" or link.reconnect_account is None:
        return None
    return sim.world.account(link.reconnect_account, usable=False)


async def _notify(sim: Simulator, link: HostedLink, body: dict[str, Any]) -> None:
    if not link.notify_url:
        return
    record = Notification(link.notify_url, body, None)
    sim.hosted_notifications.append(record)
    try:
        async with httpx.AsyncClient(timeout=sim.webhooks.timeout, trust_env=False) as http:
            response = await http.post(link.notify_url, json=body)
        record.status = response.status_code
    except httpx.HTTPError as exc:
        record.error = type(exc).__name__
        log.warning("hosted auth notify to %s failed: %s", link.notify_url, record.error)


def _login_form() -> str:
    return (
        '<label>Email or phone <input name="username" autocomplete="username"></label>'
        '<label>Password <input name="password" type="password"></label>'
        "<p>or</p>"
        '<label>li_at cookie <input name="access_token"></label>'
        '<button type="submit">Connect</button>'
    )


def _code_form() -> str:
    return '<label>Code <input name="code" autocomplete="one-time-code"></label><button type="submit">Verify</button>'


def _page(message: str, form: str | None = None, status: int = 200) -> HTMLResponse:
    body = f'<form method="post">{form}</form>' if form else ""
    return HTMLResponse(
        f"<!doctype html><title>Unipile simulator</title><h1>{html.escape(message)}</h1>{body}",
        status_code=status,
    )
