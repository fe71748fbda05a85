"""What a file really is, from its first bytes (never from its name or the client's Content-Type).

Allowed: PDF, PNG, JPEG, ZIP, Office Open XML (docx, xlsx, pptx), EPUB and MP4. Office and EPUB files are
ZIP archives: their member names tell them apart.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileKind:
    name: str
    mime: str
    extension: str


PDF = FileKind("pdf", "application/pdf", ".pdf")
PNG = FileKind("png", "image/png", ".png")
JPEG = FileKind("jpeg", "image/jpeg", ".jpg")
ZIP = FileKind("zip", "application/zip", ".zip")
DOCX = FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
XLSX = FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx")
PPTX = FileKind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx")
EPUB = FileKind("epub", "application/epub+zip", ".epub")
MP4 = FileKind("mp4", "video/mp4", ".mp4")

ALLOWED = (PDF, PNG, JPEG, ZIP, DOCX, XLSX, PPTX, EPUB, MP4)
BY_MIME = {k.mime: k for k in ALLOWED}

# ISO base-media brands that are MP4 video (not HEIC images, not QuickTime, not audio-only M4A).
_MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"dash",
    b"mmp4",
    b"MSNV",
}
_OFFICE = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX), ("ppt/presentation.xml", PPTX))


def sniff(path: Path) -> FileKind | None:
    """The kind of the file at `path`, or None when it is not one we accept."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _MP4_BRANDS:
        return MP4
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path, head)
    return None


def _zip_kind(path: Path, head: bytes) -> FileKind | None:
    # EPUB: the first member is an uncompressed "mimetype" holding the media type (OCF spec).
    if head[30:38] == b"mimetype" and head[38:58] == b"application/epub+zip":
        return EPUB
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" in names:
        for member, kind in _OFFICE:
            if member in names:
                return kind
    return ZIP
