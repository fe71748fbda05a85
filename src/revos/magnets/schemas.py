"""Lead-magnet bodies. Uploads are multipart (file + name, description, tags); edits are JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, field_validator

from revos.api.schemas import PatchModel

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(max_length=5000)]
MAX_TAGS = 20
TAG_MAX = 50


def clean_tags(tags: list[str] | None) -> list[str]:
    """Trimmed, blank-free, case-insensitively unique, in the order given."""
    out: list[str] = []
    for raw in tags or []:
        for part in raw.split(","):
            tag = part.strip()
            if not tag:
                continue
            if len(tag) > TAG_MAX:
                raise ValueError(f"a tag is at most {TAG_MAX} characters")
            if tag.casefold() not in (t.casefold() for t in out):
                out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return out


class LeadMagnetUpdate(PatchModel):
    nullable = frozenset({"description"})

    name: Name | None = None
    description: Description | None = None
    tags: list[Annotated[str, StringConstraints(max_length=MAX_TAGS * (TAG_MAX + 1))]] | None = Field(
        default=None, max_length=MAX_TAGS
    )

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else clean_tags(v)


class LeadMagnet(BaseModel):
    id: UUID
    client_id: UUID
    name: str
    description: str | None
    file_type: str | None = Field(description="media type sniffed from the content")
    file_size: int | None = Field(description="bytes")
    original_filename: str | None
    content_sha256: str | None
    storage_backend: str
    thumbnail_url: str | None
    tags: list[str]
    download_count: int
    created_at: datetime
    updated_at: datetime
