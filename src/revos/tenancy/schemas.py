from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field, HttpUrl, StringConstraints

from revos.api.schemas import FreeJSON, PatchModel, StrictModel

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
Role = Literal["admin", "manager", "member"]


class Agency(BaseModel):
    id: UUID
    name: str
    slug: str
    settings: dict[str, Any]
    subscription_tier: str | None
    subscription_status: str | None
    created_at: datetime
    updated_at: datetime


class AgencyUpdate(PatchModel):
    name: Name | None = None
    settings: FreeJSON | None = None


class ClientCreate(StrictModel):
    name: Name
    company_name: Name | None = None
    industry: Name | None = None
    website: HttpUrl | None = None
    settings: FreeJSON = Field(default_factory=dict)


class ClientUpdate(PatchModel):
    nullable = frozenset({"company_name", "industry", "website"})

    name: Name | None = None
    company_name: Name | None = None
    industry: Name | None = None
    website: HttpUrl | None = None
    settings: FreeJSON | None = None


class Client(BaseModel):
    id: UUID
    agency_id: UUID | None
    name: str
    company_name: str | None
    industry: str | None
    website: str | None
    settings: dict[str, Any]
    subscription_tier: str | None
    subscription_status: str | None
    created_at: datetime
    updated_at: datetime


class UserCreate(StrictModel):
    email: EmailStr
    first_name: Name | None = None
    last_name: Name | None = None
    role: Role = "member"
    client_id: UUID | None = Field(default=None, description="required for agency staff; else your client")


class UserUpdate(PatchModel):
    nullable = frozenset({"first_name", "last_name", "avatar_url", "settings"})

    first_name: Name | None = None
    last_name: Name | None = None
    role: Role | None = None
    avatar_url: HttpUrl | None = None
    settings: FreeJSON | None = None


class User(BaseModel):
    id: UUID
    client_id: UUID
    email: str
    first_name: str | None
    last_name: str | None
    role: str | None
    avatar_url: str | None
    settings: dict[str, Any] | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApiKeyCreate(StrictModel):
    name: Name
    role: Role = "member"
    client_id: UUID | None = Field(default=None, description="required for agency staff; else your client")


class ApiKey(BaseModel):
    id: UUID
    client_id: UUID
    name: str
    key_prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="the full key; shown once, store it now")


class Me(BaseModel):
    sub: str
    client_id: UUID | None
    agency_id: UUID | None
    user_role: str
    agency_staff: bool
    via_api_key: bool
