"""Where backups live: a local directory, or S3 (`s3://bucket/prefix`, through boto3, the `s3` extra).

A backup is a folder `revos-<UTC stamp>/` holding `manifest.json` and one `<table>.csv.gz` per table.
Files are written locally first and uploaded whole; reading from S3 downloads them to a local folder.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revos.errors import ConfigError, ValidationFailed

MANIFEST = "manifest.json"
PREFIX = "revos-"


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; may be empty

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


def parse_target(target: str) -> Path | S3Location:
    if target.startswith("s3://"):
        bucket, _, prefix = target[len("s3://") :].partition("/")
        if not bucket:
            raise ValidationFailed(f"{target!r}: an S3 target is s3://bucket/prefix")
        return S3Location(bucket, prefix.strip("/"))
    return Path(target).expanduser()


def s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    try:
        import boto3  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("S3 backups need boto3: pip install 'revos[s3]'") from exc
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region)


def upload(folder: Path, location: S3Location, name: str, client: Any) -> str:
    """Upload every file of `folder` under `<prefix>/<name>/`, the manifest last (a backup without a
    manifest is incomplete and never chosen for a restore)."""
    files = [*sorted(p for p in folder.iterdir() if p.name != MANIFEST), folder / MANIFEST]
    for path in files:
        client.upload_file(str(path), location.bucket, location.key(name, path.name))
    return f"s3://{location.bucket}/{location.key(name)}"


def _latest_dir(root: Path) -> Path:
    if (root / MANIFEST).exists():
        return root
    found = sorted(p for p in root.glob(f"{PREFIX}*") if (p / MANIFEST).exists()) if root.is_dir() else []
    if not found:
        raise ValidationFailed(f"no backup at {root} (no {MANIFEST} there nor in a {PREFIX}* folder)")
    return found[-1]


def fetch(source: str, client_factory: Any = None) -> tuple[Path, Path | None]:
    """A local folder holding the backup at `source` (the backup itself, or the latest one under it),
    and a temporary folder to remove afterwards (None for a local source)."""
    where = parse_target(source)
    if isinstance(where, Path):
        return _latest_dir(where), None
    client = (client_factory or s3_client)()
    keys: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    base = f"{where.prefix}/" if where.prefix else ""
    for page in paginator.paginate(Bucket=where.bucket, Prefix=base):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    manifests = sorted(k for k in keys if k.endswith(f"/{MANIFEST}") or k == MANIFEST)
    direct = [k for k in manifests if k == f"{base}{MANIFEST}"]
    chosen = direct or [k for k in manifests if k[len(base) :].startswith(PREFIX)][-1:]
    if not chosen:
        raise ValidationFailed(f"no backup at {where} (no {MANIFEST} there nor in a {PREFIX}* folder)")
    folder_key = chosen[0][: -len(MANIFEST)]
    tmp = Path(tempfile.mkdtemp(prefix="revos-restore-"))
    try:
        for key in keys:
            if key.startswith(folder_key) and "/" not in key[len(folder_key) :]:
                client.download_file(where.bucket, key, str(tmp / key[len(folder_key) :]))
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp, tmp
