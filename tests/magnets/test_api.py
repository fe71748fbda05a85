"""Lead magnets: uploads with limits a user understands, storage round trips, tags, downloads, deletion."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import FileResponse

from revos.errors import ConfigError
from revos.magnets import service
from revos.magnets.storage import local_root, storage_for
from revos.runtime import Runtime
from tests.support import PDF, PNG, Conn, Tenant, create_campaign, make_tenant, read_row


def _zip(members: dict[str, bytes], first: tuple[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1], compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


async def _upload(
    api: httpx.AsyncClient, tenant: Tenant, data: bytes, filename: str = "guide.pdf", **fields: Any
) -> httpx.Response:
    form = {k: v for k, v in fields.items() if not isinstance(v, list)}
    tags = fields.get("tags")
    files: list[tuple[str, Any]] = [("file", (filename, data, "application/octet-stream"))]
    if isinstance(tags, list):
        files += [("tags", (None, t)) for t in tags]
    return await api.post("/v1/lead-magnets", data=form, files=files, headers=tenant.headers)


def _stored_files(runtime: Runtime) -> list[Path]:
    root = local_root(runtime.settings)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_upload_stores_the_file_and_serves_it_back(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, db_url: str
) -> None:
    response = await _upload(
        api, tenant, PDF, "Growth Guide.pdf", description="10 plays", tags=["guide, b2b", "B2B"]
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Growth Guide"
    assert body["file_type"] == "application/pdf"
    assert body["file_size"] == len(PDF)
    assert body["tags"] == ["guide", "b2b"]
    assert body["download_count"] == 0
    assert body["storage_backend"] == "local"

    key = read_row(db_url, "lead_magnets", body["id"])["file_path"]
    assert key.startswith(str(tenant.client_id))
    assert "Growth" not in key
    assert (local_root(runtime.settings) / key).read_bytes() == PDF

    download = await api.get(f"/v1/lead-magnets/{body['id']}/file", headers=tenant.headers)
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert "Growth%20Guide.pdf" in download.headers["content-disposition"]
    assert read_row(db_url, "lead_magnets", body["id"])["download_count"] == 0  # the team's own download


async def test_over_the_size_limit_is_413_and_leaves_nothing_behind(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "magnet_max_bytes", 4096)
    before = set(_stored_files(runtime))
    # Declared too large: refused before the body is read.
    big = await _upload(api, tenant, PDF + b"0" * 200_000)
    assert big.status_code == 413
    assert "4 KB limit" in big.json()["detail"]
    # Within the declared slack but over the limit once counted.
    slightly = await _upload(api, tenant, PDF + b"0" * 5000)
    assert slightly.status_code == 413
    assert set(_stored_files(runtime)) == before
    listed = await api.get("/v1/lead-magnets", headers=tenant.headers)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"just some text pretending to be a pdf", "guide.pdf"),
        (b"MZ\x90\x00" + b"\x00" * 60, "guide.exe"),
        (b"<html><script>alert(1)</script></html>", "guide.html"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 16, "photo.mp4"),
    ],
    ids=["text-named-pdf", "executable", "html", "heic-named-mp4"],
)
async def test_types_are_sniffed_from_content_and_others_are_415(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, data: bytes, filename: str
) -> None:
    before = set(_stored_files(runtime))
    response = await _upload(api, tenant, data, filename)
    assert response.status_code == 415, response.text
    assert "pdf" in response.json()["detail"]
    assert set(_stored_files(runtime)) == before


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image/jpeg"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16, "video/mp4"),
        (_zip({"a.txt": b"hello"}), "application/zip"),
        (
            _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            _zip({"META-INF/container.xml": b"<c/>"}, first=("mimetype", b"application/epub+zip")),
            "application/epub+zip",
        ),
    ],
    ids=["png", "jpeg", "mp4", "zip", "docx", "xlsx", "epub"],
)
async def test_allowed_types_are_recognised(
    api: httpx.AsyncClient, tenant: Tenant, data: bytes, mime: str
) -> None:
    response = await _upload(api, tenant, data, "upload.bin")
    assert response.status_code == 201, response.text
    assert response.json()["file_type"] == mime


async def test_tags_filter_and_edits(api: httpx.AsyncClient, tenant: Tenant) -> None:
    a = (await _upload(api, tenant, PDF, "a.pdf", tags=["ebook"])).json()
    b = (await _upload(api, tenant, PDF, "b.pdf", tags=["video", "onboarding"])).json()
    by_tag = await api.get("/v1/lead-magnets?tag=EBOOK", headers=tenant.headers)
    assert [m["id"] for m in by_tag.json()["items"]] == [a["id"]]

    edited = await api.patch(
        f"/v1/lead-magnets/{b['id']}",
        json={"name": "Onboarding video", "tags": ["ebook", " ", "Ebook"]},
        headers=tenant.headers,
    )
    assert edited.status_code == 200
    assert edited.json()["tags"] == ["ebook"]
    assert edited.json()["name"] == "Onboarding video"
    both = await api.get("/v1/lead-magnets?tag=ebook", headers=tenant.headers)
    assert {m["id"] for m in both.json()["items"]} == {a["id"], b["id"]}


async def test_delete_removes_the_file_unless_a_campaign_uses_it(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, db_url: str
) -> None:
    magnet = (await _upload(api, tenant, PDF)).json()
    path = local_root(runtime.settings) / read_row(db_url, "lead_magnets", magnet["id"])["file_path"]
    campaign = await create_campaign(api, tenant, name="Uses it", lead_magnet_id=magnet["id"])

    refused = await api.delete(f"/v1/lead-magnets/{magnet['id']}", headers=tenant.headers)
    assert refused.status_code == 409
    assert "Uses it" in refused.json()["detail"]
    assert path.exists()

    await api.patch(f"/v1/campaigns/{campaign['id']}", json={"lead_magnet_id": None}, headers=tenant.headers)
    assert (await api.delete(f"/v1/lead-magnets/{magnet['id']}", headers=tenant.headers)).status_code == 204
    assert not path.exists()
    assert (await api.get(f"/v1/lead-magnets/{magnet['id']}", headers=tenant.headers)).status_code == 404


async def test_download_for_a_lead_serves_the_file_and_counts_it(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, db_url: str
) -> None:
    magnet = (await _upload(api, tenant, PNG, "cover.png")).json()
    async with runtime.db.service() as conn:
        stored = await service.get_magnet(conn, magnet["id"])
        assert await service.record_download(conn, magnet["id"]) == 1
    response = await service.open_for_download(runtime, stored)
    assert isinstance(response, FileResponse)
    with open(response.path, "rb") as fh:  # noqa: ASYNC230 - a tiny test file
        assert fh.read() == PNG
    assert read_row(db_url, "lead_magnets", magnet["id"])["download_count"] == 1


async def test_other_tenants_cannot_see_or_touch_a_magnet(
    owner: Conn, api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime, db_url: str
) -> None:
    magnet = (await _upload(api, tenant, PDF)).json()
    other = await make_tenant(owner, runtime)
    for method, suffix in (("GET", ""), ("GET", "/file"), ("PATCH", ""), ("DELETE", "")):
        kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = await api.request(
            method, f"/v1/lead-magnets/{magnet['id']}{suffix}", headers=other.headers, **kwargs
        )
        assert response.status_code == 404, (method, suffix)
    assert (await api.get("/v1/lead-magnets", headers=other.headers)).json()["items"] == []


def test_s3_without_boto3_says_how_to_fix_it(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on an install without the `s3` extra, whether or not this machine has boto3.
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setattr(runtime.settings, "magnet_s3_bucket", "magnets")
    with pytest.raises(ConfigError, match=r"revos\[s3\]"):
        storage_for(runtime.settings)
