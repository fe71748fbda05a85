"""Where lead-magnet files live: a local directory by default, S3-compatible storage when configured.

Keys are random (`<client id>/<32 hex><ext>`), never derived from a user's file name, so one tenant can
neither guess nor overwrite another's file. The backend a file was stored with is recorded on its row,
so a deployment that moves to S3 keeps serving the files stored on disk before. Every file of a client
lives under its `<client id>/` prefix: deleting a client removes that prefix.

S3 needs the optional extra `revos[s3]` (boto3), imported only when S3 is configured.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from starlette.responses import FileResponse, RedirectResponse, Response

from revos.config import Settings
from revos.errors import ConfigError, NotFound

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f]{32}(\.[a-z0-9]{1,8})?$")


def new_key(client_id: UUID, extension: str) -> str:
    return f"{client_id}/{uuid.uuid4().hex}{extension}"


def client_prefix(client_id: UUID) -> str:
    """Where every file of a client lives (the UUID's own text: nothing a tenant can shape)."""
    return f"{UUID(str(client_id))}/"


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a lead-magnet storage key: {key!r}")
    return key


def content_disposition_name(filename: str) -> str:
    """A download name safe in a header: no path, no quotes or control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f"]', "", name).strip() or "download"
    return name[:150]


class Storage(Protocol):
    backend: str

    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store the file at `source` (consumed: moved or deleted) under `key`."""
        ...

    async def delete(self, key: str) -> None: ...

    async def delete_client_files(self, client_id: UUID) -> int:
        """Remove every file stored for the client; returns how many. Nothing there is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def response(self, key: str, *, filename: str, media_type: str) -> Response:
        """What a browser should get to download the file: the file itself or a redirect to it."""
        ...


class LocalStorage:
    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def incoming_dir(self) -> Path:
        """Uploads are written here first: same file system as the store, so the final move is atomic."""
        path = self.root / ".incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def put(self, key: str, source: Path, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def delete_client_files(self, client_id: UUID) -> int:
        folder = self.root / client_prefix(client_id)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=False)
        return count

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    async def response(self, key: str, *, filename: str, media_type: str) -> Response:
        path = self.path(key)
        if not path.is_file():
            raise NotFound("the file of this lead magnet is no longer available")
        return FileResponse(path, media_type=media_type, filename=content_disposition_name(filename))


class S3Storage:
    backend = "s3"

    def __init__(self, settings: Settings) -> None:
        try:
            import boto3  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise ConfigError(
                "REVOS_MAGNET_S3_BUCKET is set but boto3 is not installed: pip install 'revos[s3]'"
            ) from exc
        assert settings.magnet_s3_bucket
        self.bucket = settings.magnet_s3_bucket
        self.prefix = settings.magnet_s3_prefix
        self.url_ttl = settings.magnet_s3_url_ttl_seconds
        secret = settings.magnet_s3_secret_access_key
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.magnet_s3_endpoint_url,
            region_name=settings.magnet_s3_region,
            aws_access_key_id=settings.magnet_s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
        )

    def object_key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        try:
            await asyncio.to_thread(
                self.client.upload_file,
                str(source),
                self.bucket,
                self.object_key(key),
                ExtraArgs={"ContentType": content_type},
            )
        finally:
            await asyncio.to_thread(source.unlink, missing_ok=True)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self.object_key(key))

    async def delete_client_files(self, client_id: UUID) -> int:
        return await asyncio.to_thread(self._delete_prefix, self.prefix + client_prefix(client_id))

    def _delete_prefix(self, prefix: str) -> int:
        removed = 0
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            # A page holds at most 1000 keys: exactly what one delete_objects call accepts.
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not keys:
                continue
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise OSError(
                    f"S3 refused to delete {len(errors)} object(s) under {prefix!r}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
            removed += len(keys)
        return removed

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self.object_key(key))
        except Exception:
            return False
        return True

    async def response(self, key: str, *, filename: str, media_type: str) -> Response:
        url = await asyncio.to_thread(
            self.client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.object_key(key),
                "ResponseContentType": media_type,
                "ResponseContentDisposition": f'attachment; filename="{content_disposition_name(filename)}"',
            },
            ExpiresIn=self.url_ttl,
        )
        return RedirectResponse(url, status_code=302)


def local_root(settings: Settings) -> Path:
    return (settings.magnet_local_dir or settings.data_dir / "files").expanduser()


_CACHE: dict[tuple[Any, ...], Storage] = {}


def storage_for(settings: Settings, backend: str | None = None) -> Storage:
    """The storage holding `backend`'s files (None: where new uploads go — S3 when a bucket is set).

    Built once per configuration (a boto3 client is not free to create).
    """
    backend = backend or ("s3" if settings.magnet_s3_bucket else "local")
    if backend == "local":
        key: tuple[Any, ...] = ("local", local_root(settings))
    elif backend == "s3":
        if not settings.magnet_s3_bucket:
            raise ConfigError("this lead magnet is stored in S3 but REVOS_MAGNET_S3_BUCKET is not set")
        key = (
            "s3",
            settings.magnet_s3_bucket,
            settings.magnet_s3_endpoint_url,
            settings.magnet_s3_region,
            settings.magnet_s3_access_key_id,
            settings.magnet_s3_prefix,
        )
    else:
        raise ConfigError(f"unknown lead-magnet storage backend {backend!r}")
    found = _CACHE.get(key)
    if found is None:
        found = LocalStorage(local_root(settings)) if backend == "local" else S3Storage(settings)
        _CACHE[key] = found
    return found
