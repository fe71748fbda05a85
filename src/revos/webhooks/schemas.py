"""Request and response models of the webhooks domain. Secrets never appear in a response model
except `WebhookConfigCreated.secret` / `SecretRotated.secret`, returned once."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from revos.api.schemas import StrictModel
from revos.security import ssrf

EspType = Literal["custom", "zapier", "make", "convertkit"]
EventType = Literal["lead.captured", "lead.completed", "link.clicked"]
EVENT_TYPES: tuple[str, ...] = ("lead.captured", "lead.completed", "link.clicked")
TEST_EVENT = "webhook.test"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


def _plain_url(value: str) -> str:
    # The shape only (no DNS, no settings): a URL that no HTTP client would send is refused here, with
    # the field named, instead of failing every delivery later. Addresses are checked by the service.
    problem = ssrf.url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Url = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, strip_whitespace=True), AfterValidator(_plain_url)
]

MAX_HEADERS = 20
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
# Headers we own: the signature scheme, and framing that only the HTTP client may set.
_RESERVED = {"host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade", "te"}


def validate_headers(headers: dict[str, str]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} custom headers")
    seen: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        if not _TOKEN.match(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP header name")
        if lower.startswith("webhook-") or lower in _RESERVED:
            raise ValueError(f"header {name!r} is set by revOS and cannot be overridden")
        if lower in seen:
            raise ValueError(f"header {name!r} is given twice")
        seen.add(lower)
        if len(value) > 2048 or any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
            raise ValueError(f"header {name!r} has an invalid value (control characters or over 2048 chars)")
    return headers


class KitSettings(StrictModel):
    api_key: SecretStr = Field(min_length=8, max_length=512, description="Kit v4 API key; stored encrypted")
    form_id: int | None = Field(default=None, ge=1, le=2**53, description="add subscribers to this form")
    tag_id: int | None = Field(default=None, ge=1, le=2**53, description="tag subscribers with this tag")


class KitSettingsUpdate(StrictModel):
    api_key: SecretStr | None = Field(default=None, min_length=8, max_length=512)
    form_id: int | None = Field(default=None, ge=1, le=2**53)
    tag_id: int | None = Field(default=None, ge=1, le=2**53)


class _ConfigFields(StrictModel):
    headers: dict[str, str] | None = Field(default=None, max_length=20)
    retry_enabled: bool | None = None
    max_retries: int | None = Field(default=None, ge=0, le=20)
    retry_delay_ms: int | None = Field(default=None, ge=100, le=3_600_000)
    timeout_ms: int | None = Field(default=None, ge=1000, le=120_000)
    active: bool | None = None
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=20)
    all_campaigns: bool | None = Field(
        default=None, description="receive events of every campaign, not only campaigns that name this config"
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else validate_headers(v)


class WebhookConfigCreate(_ConfigFields):
    name: Name
    esp_type: EspType = "custom"
    url: Url | None = Field(default=None, description="https endpoint; not used by convertkit")
    kit: KitSettings | None = Field(default=None, description="required when esp_type is convertkit")
    client_id: UUID | None = Field(default=None, description="required for agency staff; else your client")

    @model_validator(mode="after")
    def _per_esp(self) -> WebhookConfigCreate:
        if self.esp_type == "convertkit":
            if self.kit is None:
                raise ValueError("esp_type 'convertkit' needs kit.api_key (and a kit.form_id or kit.tag_id)")
            if self.headers:
                raise ValueError("custom headers are not sent to Kit")
        else:
            if self.kit is not None:
                raise ValueError("kit settings are only for esp_type 'convertkit'")
            if not self.url:
                raise ValueError(f"url is required for esp_type {self.esp_type!r}")
        return self


class WebhookConfigUpdate(_ConfigFields):
    name: Name | None = None
    url: Url | None = None
    kit: KitSettingsUpdate | None = None


class RotateSecret(StrictModel):
    overlap_seconds: int | None = Field(
        default=None, ge=0, le=30 * 86400, description="how long the previous secret keeps signing"
    )


class KitInfo(BaseModel):
    form_id: int | None = None
    tag_id: int | None = None
    api_key_set: bool = False


class WebhookConfig(BaseModel):
    id: UUID
    client_id: UUID
    name: str
    url: str
    esp_type: str | None
    headers: dict[str, str]
    retry_enabled: bool
    max_retries: int
    retry_delay_ms: int
    timeout_ms: int
    active: bool
    events: list[str]
    all_campaigns: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    signing: bool = Field(description="deliveries carry Standard Webhooks signatures")
    secret_rotated_at: datetime | None
    secret_previous_expires_at: datetime | None
    kit: KitInfo | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> WebhookConfig:
        kit = None
        if row.get("esp_type") == "convertkit":
            settings = row.get("esp_settings") or {}
            kit = KitInfo(
                form_id=settings.get("form_id"),
                tag_id=settings.get("tag_id"),
                api_key_set=row.get("esp_credentials") is not None,
            )
        return cls.model_validate(
            {
                **row,
                "headers": row.get("headers") or {},
                "signing": row.get("secret") is not None,
                "kit": kit,
            }
        )


class WebhookConfigCreated(WebhookConfig):
    secret: str | None = Field(
        description="the signing secret (whsec_…): shown once, store it now; null for convertkit"
    )


class SecretRotated(BaseModel):
    id: UUID
    secret: str = Field(description="the new signing secret: shown once, store it now")
    previous_secret_expires_at: datetime | None


class Delivery(BaseModel):
    id: UUID
    webhook_config_id: UUID | None
    lead_id: UUID | None
    event_type: str | None
    webhook_id: str
    payload: dict[str, Any]
    status: str
    status_code: int | None
    response_body: Any
    error_message: str | None
    attempt_count: int
    response_time_ms: int | None
    next_retry_at: datetime | None
    last_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryAttempt(BaseModel):
    id: UUID
    delivery_id: UUID
    attempt_number: int
    attempted_at: datetime
    status: str
    status_code: int | None
    response_body: Any
    error_message: str | None
    response_time_ms: int | None
    next_retry_at: datetime | None


class DeliveryDetail(Delivery):
    attempts: list[DeliveryAttempt]


class ReplayResult(BaseModel):
    replayed: int
    delivery_ids: list[UUID]


class ZapierSubscribe(StrictModel):
    hookUrl: Url  # Zapier's field name
    event: EventType = "lead.captured"
    name: Name | None = None


class ZapierSubscription(BaseModel):
    id: UUID
    hookUrl: str
    event: str


class ZapierUnsubscribe(StrictModel):
    id: UUID | None = None
    hookUrl: Url | None = None

    @model_validator(mode="after")
    def _one(self) -> ZapierUnsubscribe:
        if self.id is None and self.hookUrl is None:
            raise ValueError("give the subscription id or its hookUrl")
        return self
