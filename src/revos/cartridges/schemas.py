"""Cartridge bodies: create, edit, the cartridge, its resolved voice with origins, its versions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from revos.api.schemas import FreeJSON, PatchModel, StrictModel

Tier = Literal["system", "workspace", "user", "skill"]
# The spec's campaign skills; a skill cartridge is for one of them.
SKILLS = ("copywriting", "voice", "deliverability", "design")
Skill = Literal["copywriting", "voice", "deliverability", "design"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(max_length=5000)]
MAX_POSTS = 200
DEFAULT_POSTS = 50


class CartridgeCreate(StrictModel):
    tier: Tier = Field(description="workspace (the client's), user (a user's), skill (a skill's), or system")
    name: Name
    description: Description | None = None
    voice: FreeJSON = Field(default_factory=dict)
    knowledge: FreeJSON = Field(default_factory=dict)
    parent_cartridge_id: UUID | None = Field(
        default=None, description="inherit from this cartridge (a system one, or one of the same client)"
    )
    user_id: UUID | None = Field(default=None, description="user tier (required), skill tier (optional)")
    skill: Skill | None = Field(default=None, description="skill tier: the skill it is for")
    active: bool = True
    client_id: UUID | None = Field(default=None, description="agency staff: the client it belongs to")
    auto_generate: bool = Field(
        default=False, description="derive the voice from the user's own LinkedIn posts on creation"
    )
    linkedin_account_id: UUID | None = Field(
        default=None, description="with auto_generate: the account whose posts to read (default: the user's)"
    )


class CartridgeUpdate(PatchModel):
    """Tier, client, user and skill are fixed at creation; everything else may change."""

    nullable = frozenset({"description", "parent_cartridge_id"})

    name: Name | None = None
    description: Description | None = None
    voice: FreeJSON | None = None
    knowledge: FreeJSON | None = None
    parent_cartridge_id: UUID | None = None
    active: bool | None = None


class GenerateRequest(StrictModel):
    linkedin_account_id: UUID | None = Field(
        default=None, description="the account whose posts to read (default: the cartridge user's account)"
    )
    max_posts: int = Field(default=DEFAULT_POSTS, ge=1, le=MAX_POSTS, description="most recent posts to read")


class Cartridge(BaseModel):
    id: UUID
    client_id: UUID | None
    user_id: UUID | None
    tier: Tier
    skill: str | None
    name: str
    description: str | None
    voice: dict[str, Any]
    knowledge: dict[str, Any]
    auto_generate: bool
    source_posts_count: int | None
    parent_cartridge_id: UUID | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class Origin(BaseModel):
    tier: Tier
    cartridge_id: UUID
    version: int


class ChainLink(BaseModel):
    id: UUID
    version: int
    tier: Tier
    name: str


class ResolvedCartridge(BaseModel):
    cartridge_id: UUID
    version: int
    voice: dict[str, Any]
    knowledge: dict[str, Any]
    origins: dict[str, Origin] = Field(
        description="per top-level field, as 'voice.<key>' and 'knowledge.<key>': the cartridge it came from"
    )
    chain: list[ChainLink] = Field(
        description="the inheritance chain, the root (system) first, this one last"
    )


class Version(BaseModel):
    cartridge_id: UUID
    version: int
    change: Literal["create", "update", "generate"]
    changed_by: str = Field(description="user id, api_key:<id>, operator:<id>, or the worker's name")
    created_at: datetime
    snapshot: dict[str, Any] = Field(description="the whole cartridge as it was after this change")
