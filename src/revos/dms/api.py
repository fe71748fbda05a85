"""The public download link of step 3: `GET /d/{token}` (no login: the signed token is the credential).

A genuine, unexpired link counts the download, marks the sequence's link as clicked (first click),
completes the lead, and hands over the file (local disk) or redirects to it (S3). A forged, damaged or
expired link gets a short HTML page saying so, with a 4xx status, never a stack trace.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from revos.api.deps import RuntimeDep
from revos.api.openapi import file_responses
from revos.api.routing import ApiRoute
from revos.clock import utcnow
from revos.dms import links
from revos.errors import NotFound, RevosError
from revos.leads.service import record_link_click
from revos.magnets import sniff
from revos.magnets.service import open_for_download

log = logging.getLogger("revos.dms")
router = APIRouter(tags=["downloads"], route_class=ApiRoute)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>"""


_HTML = {"text/html": {"schema": {"type": "string"}}}
_DOWNLOAD_DOC: dict[int | str, dict[str, Any]] = file_responses([k.mime for k in sniff.ALLOWED]) | {
    404: {"description": "the link is not valid, or its file is gone (an HTML page)", "content": _HTML},
    410: {"description": "the link has expired (an HTML page)", "content": _HTML},
    503: {"description": "the file cannot be served right now (an HTML page)", "content": _HTML},
}


def _page(status: int, title: str, text: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), text=html.escape(text)), status_code=status)


@router.get("/d/{token}", response_class=Response, responses=_DOWNLOAD_DOC)
async def download(token: str, runtime: RuntimeDep) -> Response:
    try:
        sequence_id, _ = links.verify(runtime.jwt_secret, token, utcnow())
    except links.LinkExpired as exc:
        return _page(
            410,
            "This link has expired",
            f"{exc.message}. Reply to the message you received and we will send a fresh one.",
        )
    except links.LinkInvalid:
        return _page(
            404, "This link is not valid", "Please check that you copied the whole link from the message."
        )
    try:
        async with runtime.db.service(actor="download-link") as conn:
            magnet = await record_link_click(runtime, conn, sequence_id)
        return await open_for_download(runtime, magnet)
    except NotFound as exc:
        return _page(404, "File not available", exc.message)
    except RevosError as exc:
        log.warning("download link for sequence %s failed: %s", sequence_id, exc)
        return _page(
            exc.status_code if 400 <= exc.status_code < 500 else 503, "Download unavailable", exc.message
        )
