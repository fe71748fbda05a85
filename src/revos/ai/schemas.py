"""Request and response bodies of /v1/ai. No response ever carries an API key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from revos.api.schemas import StrictModel

Provider = Literal["offline", "openai", "anthropic"]
Model = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=4096, strip_whitespace=True)]


class AiSettingsUpdate(StrictModel):
    """The client's AI settings. provider, model, base_url and monthly_token_budget are replaced (null or
    left out: the deployment's value). api_key is write-only: left out, the stored key is kept; null
    removes it."""

    client_id: UUID | None = Field(default=None, description="agency staff: the client to configure")
    provider: Provider | None = None
    model: Model | None = Field(default=None, description="e.g. gpt-4o-mini, claude-haiku-4-5, llama3.1")
    base_url: Url | None = Field(
        default=None, description="OpenAI-compatible endpoint (…/v1) or Anthropic endpoint; public https only"
    )
    api_key: Key | None = Field(default=None, description="write-only; stored encrypted")
    monthly_token_budget: int | None = Field(default=None, ge=0, le=10**12, description="0 = unlimited")


class EffectiveAi(BaseModel):
    provider: Provider
    model: str
    base_url: str | None
    api_key_set: bool
    monthly_token_budget: int
    budget_source: Literal["client", "deployment"]


class AiSettings(BaseModel):
    client_id: UUID
    provider: Provider | None
    model: str | None
    base_url: str | None
    api_key_set: bool
    monthly_token_budget: int | None
    updated_at: datetime | None
    effective: EffectiveAi = Field(description="what the client's AI calls use, deployment defaults applied")


class UsageLine(BaseModel):
    provider: str | None = None
    model: str | None = None
    calls: int
    failures: int
    tokens_in: int
    tokens_out: int
    tokens: int
    cost_usd: float


class Budget(BaseModel):
    limit: int = Field(description="tokens per month; 0 = unlimited")
    source: Literal["client", "deployment"]
    used: int
    reserved: int = Field(description="held by calls in progress")
    remaining: int | None = Field(description="null when unlimited")


class AiUsage(BaseModel):
    client_id: UUID
    month: str = Field(description="YYYY-MM (UTC)")
    resets_at: datetime
    budget: Budget
    totals: UsageLine
    items: list[UsageLine]
