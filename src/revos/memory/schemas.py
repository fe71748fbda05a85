"""Memory bodies: add, search, and what a memory looks like (never its vector)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from revos.api.schemas import FreeJSON, StrictModel

# Lengths are checked against REVOS_MEMORY_CONTENT_MAX_CHARS by the service; this is the outer bound.
Text = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
MemoryType = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$"),
    Field(description="e.g. successful_post, conversion_pattern, or your own (lowercase, _)"),
]


class MemoryCreate(StrictModel):
    memory_type: MemoryType
    content: Text = Field(description="the text remembered, embedded for search")
    user_id: UUID | None = Field(default=None, description="a user of the client the memory is about")
    metadata: FreeJSON | None = None
    client_id: UUID | None = Field(default=None, description="agency staff: the client")


class MemorySearch(StrictModel):
    query: Text = Field(description="what to look for, in words: memories are matched by meaning")
    k: int = Field(default=10, ge=1, le=100, description="most results (and REVOS_MEMORY_SEARCH_MAX_K)")
    threshold: float = Field(
        default=0.0, ge=-1, le=1, description="least cosine similarity of a result (1 = same meaning)"
    )
    user_id: UUID | None = Field(default=None, description="only this user's memories")
    memory_type: MemoryType | None = None
    client_id: UUID | None = Field(default=None, description="agency staff: the client searched")


class Memory(BaseModel):
    id: UUID
    client_id: UUID
    user_id: UUID | None
    memory_type: str | None
    content: str | None
    metadata: dict[str, Any]
    embedding_model: str | None = Field(description="the model that embedded it; another one = re-embedding")
    mem0_memory_id: str | None = Field(description="its id in Mem0, when Mem0 is enabled and has it")
    created_at: datetime


class MemoryHit(Memory):
    score: float = Field(description="cosine similarity to the query, -1 to 1")


class SearchResult(BaseModel):
    items: list[MemoryHit]
    embedding_model: str
