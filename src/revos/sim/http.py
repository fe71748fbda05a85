"""Request parsing shared by the routes: JSON, urlencoded or multipart bodies; limits and cursors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse

from revos.sim.errors import SimError, invalid, missing
from revos.sim.ids import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from revos.sim.world import World


def respond(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type="application/json; charset=utf-8")


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Payload:
    """A body read the same way whether it came as JSON or as form fields (bracketed keys flattened)."""

    fields: dict[str, list[Any]] = field(default_factory=dict)
    files: dict[str, list[Upload]] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        values = self.fields.get(name)
        return values[0] if values else None

    def string(self, name: str, required: bool = False) -> str | None:
        value = self.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        if not isinstance(value, str | int | float):
            raise invalid(f"{name} must be a string")
        return str(value)

    def list(self, name: str) -> list[Any]:
        return [v for v in self.fields.get(name, []) + self.fields.get(f"{name}[]", []) if v != ""]

    def flag(self, name: str) -> bool:
        value = self.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))

    def as_dict(self) -> dict[str, Any]:
        return {k: v[0] if len(v) == 1 else v for k, v in self.fields.items()}


def _flatten(prefix: str, value: Any, out: dict[str, list[Any]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}[{k}]" if prefix else k, v, out)
    elif isinstance(value, list) and prefix:
        out.setdefault(prefix, []).extend(value)
    else:
        out.setdefault(prefix, []).append(value)


async def read_payload(request: Request) -> Payload:
    ctype = request.headers.get("content-type", "")
    payload = Payload()
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        try:
            form = await request.form()
        except Exception as exc:  # malformed multipart surfaces as several exception types
            raise SimError(400, "malformed_request", f"Could not parse the form body: {exc}") from exc
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    # Read now and close: spooled temp files must not outlive the request.
                    upload = Upload(value.filename or "file", value.content_type or "", await value.read())
                    payload.files.setdefault(key.removesuffix("[]"), []).append(upload)
                else:
                    payload.fields.setdefault(key, []).append(value)
        finally:
            await form.close()
        return payload
    raw = await request.body()
    if not raw.strip():
        return payload
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise SimError(400, "malformed_request", "The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise SimError(400, "malformed_request", "The body must be a JSON object")
    for key, value in data.items():
        # Nested objects become bracketed keys so `linkedin[inmail]` reads the same from JSON.
        if isinstance(value, dict):
            _flatten(key, value, payload.fields)
        else:
            payload.fields[key] = list(value) if isinstance(value, list) else [value]
    return payload


def store_attachments(world: World, payload: Payload, name: str = "attachments") -> list[dict[str, Any]]:
    """Keep each uploaded file (it can be downloaded again by its id) and describe it as Unipile does."""
    out = []
    for upload in payload.files.get(name, []):
        with world.lock:
            att_id = world.ids.unipile()
            world.files[att_id] = upload
        out.append(attachment(att_id, upload))
    return out


def attachment(att_id: str, upload: Upload) -> dict[str, Any]:
    """An uploaded file as Unipile describes it: the base fields plus those of its kind (img, video,
    audio, file), as the SDK's attachment schemas require them."""
    mimetype = upload.content_type or "application/octet-stream"
    out: dict[str, Any] = {
        "id": att_id,
        "file_size": len(upload.data),
        "unavailable": False,
        "mimetype": mimetype,
        "url": f"att://sim/{att_id}",
    }
    if mimetype.startswith("image/"):
        width, height = image_size(upload.data)
        out.update(type="img", size={"width": width, "height": height}, sticker=False)
    elif mimetype.startswith("video/"):
        out.update(type="video", size={"width": 0, "height": 0}, gif=False)
    elif mimetype.startswith("audio/"):
        out.update(type="audio", voice_note=False)
    else:
        out.update(type="file", file_name=upload.filename)
    return out


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or GIF (0, 0 for anything else): enough for a faithful `size`."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return 0, 0


class ListQuery:
    """`limit` + opaque `cursor`; the cursor carries the filters and limit of the first request, like
    Unipile's own (base64 JSON), so a follow-up call may send the cursor alone."""

    def __init__(self, request: Request, max_limit: int, default_limit: int = 100) -> None:
        self.params = request.query_params
        self.cursor = decode_cursor(self.params.get("cursor"))
        raw = self.params.get("limit")
        if raw is None:
            self.limit = int((self.cursor or {}).get("limit", default_limit))
        else:
            try:
                self.limit = int(raw)
            except ValueError as exc:
                raise invalid("limit must be an integer") from exc
            if self.limit < 1:
                raise invalid("limit must be at least 1")
            if self.limit > max_limit:
                raise SimError(400, "limit_too_high", f"limit must be at most {max_limit}")

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is not None:
            return value
        saved = (self.cursor or {}).get("filters", {}).get(name)
        return str(saved) if saved is not None else None

    def page(self, items: list[Any], filters: dict[str, Any]) -> tuple[list[Any], str | None, int]:
        """Slice `items` (already in display order, each with a unique int `seq`).

        The cursor remembers the last item's seq rather than an offset, so items added while a client
        pages through (new comments on a busy post) neither repeat nor get skipped."""
        start = 0
        if self.cursor is not None:
            last = self.cursor.get("last")
            idx = next((i for i, it in enumerate(items) if it.seq == last), None)
            if idx is not None:
                start = idx + 1
            else:
                start = _resume_position(items, last, int(self.cursor.get("start", 0)))
        chunk = items[start : start + self.limit]
        cursor = None
        if start + self.limit < len(items) and chunk:
            cursor = encode_cursor(
                {"filters": filters, "limit": self.limit, "last": chunk[-1].seq, "start": start + len(chunk)}
            )
        return chunk, cursor, start


def _resume_position(items: list[Any], last: Any, fallback: int) -> int:
    """The anchor item vanished (deleted): resume after where it would sit in seq order."""
    if not isinstance(last, int) or not items:
        return fallback
    descending = items[0].seq > items[-1].seq
    for i, it in enumerate(items):
        if (it.seq < last) if descending else (it.seq > last):
            return i
    return len(items)


def require_query(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise missing(name)
    return value
