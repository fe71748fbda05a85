"""Rules for lead magnets: size and type limits, storage outside the transaction, downloads. Never commits.

An upload is staged (streamed to a temporary file, counted, sniffed), stored (moved into place or sent to
S3), and only then recorded in the request's transaction; if that transaction fails, the stored file is
removed again (`discard`). A delete removes the row first and the file after the commit, so a file is
never missing behind a row that still points at it: the removal is a job deferred in the delete's own
transaction (`magnets.delete_file`, `magnets.delete_client_files`), so a rolled-back delete removes
nothing and a crash after the commit loses nothing; the worker retries until the files are gone.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from starlette.responses import Response

from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, RevosError, ValidationFailed
from revos.magnets import repo, schemas, sniff
from revos.magnets.storage import local_root, new_key, storage_for
from revos.queue.defer import defer
from revos.runtime import Runtime

log = logging.getLogger(__name__)


class FileTooLarge(RevosError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedFileType(RevosError):
    status_code = 415
    code = "unsupported_media_type"


def size_label(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb >= 1 else f"{n // 1024} KB" if n >= 1024 else f"{n} bytes"


def too_large(settings: Settings) -> FileTooLarge:
    return FileTooLarge(
        f"the file is larger than the {size_label(settings.magnet_max_bytes)} limit for lead magnets",
        detail={"max_bytes": settings.magnet_max_bytes},
    )


@dataclass(frozen=True)
class StagedFile:
    path: Path
    size: int
    sha256: str
    kind: sniff.FileKind
    original_filename: str


async def stage_upload(settings: Settings, chunks: AsyncIterator[bytes], filename: str | None) -> StagedFile:
    """Stream an upload to a temporary file; 413 past the size limit, 415 for a type we do not accept."""
    incoming = local_root(settings) / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > settings.magnet_max_bytes:
                    raise too_large(settings)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed("the file is empty")
        kind = sniff.sniff(path)
        if kind is None:
            allowed = ", ".join(k.name for k in sniff.ALLOWED)
            raise UnsupportedFileType(
                f"this file type is not accepted for lead magnets (allowed: {allowed})",
                detail={"allowed": [k.mime for k in sniff.ALLOWED]},
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedFile(
        path, size, digest.hexdigest(), kind, (filename or "").strip() or f"file{kind.extension}"
    )


async def store(settings: Settings, client_id: UUID, staged: StagedFile) -> tuple[str, str]:
    """Put a staged file into storage (outside any transaction); returns (backend, key)."""
    storage = storage_for(settings)
    key = new_key(client_id, staged.kind.extension)
    try:
        await storage.put(key, staged.path, staged.kind.mime)
    finally:
        staged.path.unlink(missing_ok=True)
    return storage.backend, key


async def discard(settings: Settings, backend: str, key: str) -> None:
    """Remove a stored file; a failure is logged, never raised (it only leaves an orphan file)."""
    try:
        await storage_for(settings, backend).delete(key)
    except Exception:
        log.warning("could not remove lead-magnet file %s from %s storage", key, backend, exc_info=True)


async def create_magnet(
    conn: Conn,
    *,
    client_id: UUID,
    staged: StagedFile,
    backend: str,
    key: str,
    name: str | None,
    description: str | None,
    tags: list[str],
) -> dict[str, Any]:
    title = (name or "").strip() or Path(staged.original_filename).stem or "Lead magnet"
    if len(title) > 200:
        raise ValidationFailed("name: at most 200 characters")
    return await repo.insert(
        conn,
        {
            "client_id": client_id,
            "name": title,
            "description": description or None,
            "file_path": key,
            "file_size": staged.size,
            "file_type": staged.kind.mime,
            "tags": tags,
            "download_count": 0,
            "storage_backend": backend,
            "original_filename": staged.original_filename[:255],
            "content_sha256": staged.sha256,
        },
    )


async def get_magnet(conn: Conn, magnet_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get(conn, magnet_id, for_update=for_update)
    if row is None:
        raise NotFound("lead magnet not found")
    return row


async def update_magnet(conn: Conn, magnet_id: UUID, body: schemas.LeadMagnetUpdate) -> dict[str, Any]:
    await get_magnet(conn, magnet_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise ValidationFailed("name cannot be null")
    if "tags" in changes and changes["tags"] is None:
        changes["tags"] = []
    row = await repo.update(conn, magnet_id, changes)
    assert row is not None
    return row


async def delete_magnet(conn: Conn, magnet_id: UUID) -> tuple[str, str]:
    """Delete the row; returns (backend, key) of the file for the caller to remove after commit."""
    row = await get_magnet(conn, magnet_id, for_update=True)
    campaigns = await repo.used_by(conn, magnet_id)
    if campaigns:
        raise Conflict(
            f"the lead magnet is used by campaign(s): {', '.join(campaigns)}; detach it first",
            detail={"campaigns": campaigns},
        )
    await repo.delete(conn, magnet_id)
    backend, key = row["storage_backend"], row["file_path"]
    await defer(conn, "magnets.delete_file", {"backend": backend, "key": key})
    return backend, key


async def forget_client_files(conn: Conn, client_id: UUID) -> None:
    """In the transaction that deletes the client: its files go once that commits (never before,
    never if it rolls back)."""
    await defer(conn, "magnets.delete_client_files", {"client_id": str(client_id)})


async def delete_client_files(settings: Settings, client_id: UUID) -> int:
    """Remove every file of the client from every storage this deployment can reach: local disk (where
    files stored before a move to S3 stay) and S3 when configured. Idempotent; raises when a storage
    fails, so the job is retried."""
    removed = await storage_for(settings, "local").delete_client_files(client_id)
    if settings.magnet_s3_bucket:
        removed += await storage_for(settings, "s3").delete_client_files(client_id)
    return removed


async def delete_file(settings: Settings, backend: str, key: str) -> None:
    """Remove one stored file (gone already is fine); raises when the storage fails."""
    await storage_for(settings, backend).delete(key)


def view(row: Mapping[str, Any]) -> schemas.LeadMagnet:
    return schemas.LeadMagnet.model_validate(
        {**row, "tags": row.get("tags") or [], "download_count": row.get("download_count") or 0}
    )


def download_name(magnet: Mapping[str, Any]) -> str:
    kind = sniff.BY_MIME.get(magnet.get("file_type") or "")
    original = magnet.get("original_filename")
    if original:
        return str(original)
    return f"{magnet['name']}{kind.extension if kind else ''}"


async def open_for_download(runtime: Runtime, magnet_row: Mapping[str, Any]) -> Response:
    """The response that hands the file over: the file from local disk, or a redirect to a short-lived
    presigned S3 URL. Raises NotFound when the file is gone. Counting the download is `record_download`."""
    storage = storage_for(runtime.settings, magnet_row.get("storage_backend") or "local")
    return await storage.response(
        magnet_row["file_path"],
        filename=download_name(magnet_row),
        media_type=magnet_row.get("file_type") or "application/octet-stream",
    )


async def record_download(conn: Conn, magnet_id: UUID) -> int | None:
    """download_count + 1; returns the new count (None: no such lead magnet)."""
    return await repo.count_download(conn, magnet_id)
