"""GET /v1/export: everything of the caller's client as gzip'd NDJSON (admins only). Thin."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from revos.api.deps import CtxDep
from revos.api.openapi import file_responses
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.audit import service as audit
from revos.exports import repo

router = APIRouter(prefix="/v1/export", tags=["export"], route_class=ApiRoute)
CHUNK = 256 * 1024
SPOOL_BYTES = 8 * 1024 * 1024  # larger exports spill to a temporary file, never to memory


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()


@router.get(
    "",
    summary="download all of the client's data (admins): gzip'd NDJSON, one {table, row} per line",
    response_class=StreamingResponse,
    responses=file_responses(["application/gzip"]),
)
async def export_client(
    ctx: CtxDep,
    client_id: Annotated[UUID | None, Query(description="agency staff: the client to export")] = None,
) -> StreamingResponse:
    ctx.require("data.export")
    client = target_client(ctx.claims, client_id)
    # Written out in the request's transaction (what RLS lets the caller see), then streamed: the
    # transaction is not held open while a slow client downloads.
    # The client's audit trail is chained up to now first (the caller's own writes included), in a short
    # transaction of its own: the export's does not hold the chain's lock.
    async with ctx.tx() as conn:
        await audit.seal(conn, client)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _chunks
    try:
        with gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=6) as out:
            async with ctx.tx() as conn:
                for table in await repo.tables(conn):
                    prefix = f'{{"table":"{table.name}","row":'.encode()
                    async for text in repo.rows_as_json(conn, table, client):
                        out.write(prefix + text.encode() + b"}\n")
    except BaseException:
        spool.close()
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _chunks(spool),
        media_type="application/gzip",
        headers={"content-disposition": f'attachment; filename="revos-export-{client}-{stamp}.ndjson.gz"'},
    )
