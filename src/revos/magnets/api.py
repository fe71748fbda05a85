"""/v1/lead-magnets: multipart upload, list by tag, edit, download, delete. Thin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from starlette.datastructures import UploadFile

from revos.api.deps import CtxDep
from revos.api.openapi import error_responses, file_responses
from revos.api.permissions import target_client
from revos.api.routing import ApiRoute
from revos.api.schemas import Page
from revos.errors import ValidationFailed
from revos.magnets import repo, schemas, service, sniff

router = APIRouter(prefix="/v1/lead-magnets", tags=["lead magnets"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
CHUNK = 1024 * 1024
# Multipart framing and the small text fields around the file.
FORM_OVERHEAD = 64 * 1024

_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "pdf, png, jpeg, zip, "
                            "docx, xlsx, pptx, epub or mp4 (by content), up to REVOS_MAGNET_MAX_BYTES",
                        },
                        "name": {"type": "string", "description": "defaults to the file's name"},
                        "description": {"type": "string"},
                        "tags": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "the field repeated, or one comma-separated value",
                        },
                        "client_id": {"type": "string", "format": "uuid", "description": "agency staff"},
                    },
                }
            }
        },
    }
}


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: must be a text field")
    return value


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_DOC,
    responses=error_responses(404, 413, 415),
)
async def upload(ctx: CtxDep, request: Request) -> schemas.LeadMagnet:
    ctx.require("campaigns.write")
    settings = ctx.runtime.settings
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.magnet_max_bytes + FORM_OVERHEAD:
        raise service.too_large(settings)  # refused before a byte of the body is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed("send the lead magnet as multipart/form-data with a 'file' field")
    async with request.form(max_files=1, max_fields=50) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationFailed("file: a file part named 'file' is required")
        try:
            tags = schemas.clean_tags([t for t in form.getlist("tags") if isinstance(t, str)])
        except ValueError as exc:
            raise ValidationFailed(f"tags: {exc}") from exc
        name = _text(form.get("name"), "name")
        description = _text(form.get("description"), "description")
        requested = _text(form.get("client_id"), "client_id")
        try:
            client_id = target_client(ctx.claims, UUID(requested) if requested else None)
        except ValueError as exc:
            raise ValidationFailed("client_id: not a UUID") from exc
        staged = await service.stage_upload(settings, _chunks(file), file.filename)
    backend, key = await service.store(settings, client_id, staged)
    try:
        async with ctx.tx() as conn:
            row = await service.create_magnet(
                conn,
                client_id=client_id,
                staged=staged,
                backend=backend,
                key=key,
                name=name,
                description=description,
                tags=tags,
            )
    except BaseException:
        await service.discard(settings, backend, key)
        raise
    return service.view(row)


@router.get("")
async def list_magnets(
    ctx: CtxDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    tag: Annotated[str | None, Query(max_length=50, description="only magnets with this tag")] = None,
    client_id: Annotated[UUID | None, Query(description="agency staff: one client only")] = None,
) -> Page[schemas.LeadMagnet]:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        rows, next_cursor = await repo.page(conn, cursor=cursor, limit=limit, tag=tag, client_id=client_id)
    return Page(items=[service.view(r) for r in rows], next_cursor=next_cursor)


@router.get("/{magnet_id}")
async def get_magnet(ctx: CtxDep, magnet_id: UUID) -> schemas.LeadMagnet:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        return service.view(await service.get_magnet(conn, magnet_id))


@router.patch("/{magnet_id}")
async def update_magnet(ctx: CtxDep, magnet_id: UUID, body: schemas.LeadMagnetUpdate) -> schemas.LeadMagnet:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        return service.view(await service.update_magnet(conn, magnet_id, body))


@router.get(
    "/{magnet_id}/file",
    summary="download the file (for the team; not counted as a lead download)",
    response_class=Response,
    responses=file_responses([k.mime for k in sniff.ALLOWED]),
)
async def download_file(ctx: CtxDep, magnet_id: UUID) -> Response:
    ctx.require("campaigns.read")
    async with ctx.tx() as conn:
        row = await service.get_magnet(conn, magnet_id)
    return await service.open_for_download(ctx.runtime, row)


@router.delete("/{magnet_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_magnet(ctx: CtxDep, magnet_id: UUID) -> Response:
    ctx.require("campaigns.write")
    async with ctx.tx() as conn:
        backend, key = await service.delete_magnet(conn, magnet_id)
    await service.discard(ctx.runtime.settings, backend, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
