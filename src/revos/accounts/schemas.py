"""Request and response bodies of /v1/linkedin-accounts. No response ever carries a credential."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from revos.accounts import safety
from revos.api.schemas import PatchModel, StrictModel

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


def _check_timezone(value: str) -> str:
    if not safety.valid_timezone(value):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'Europe/Paris'")
    return value


Timezone = Annotated[str, AfterValidator(_check_timezone)]
# Kept as given; checked by the one model it is read through (`safety.SafetyOverrides`).
SafetyDocument = Annotated[dict[str, Any], AfterValidator(safety.validate_overrides)]


class Credentials(StrictModel):
    """Username/password, or the `li_at` session cookie with the browser's user agent."""

    username: Secret | None = None
    password: Secret | None = None
    li_at: Secret | None = Field(default=None, description="value of the LinkedIn `li_at` cookie")
    user_agent: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="the exact browser user agent (strongly recommended with li_at)"
    )

    def has_any(self) -> bool:
        return bool(self.username or self.password or self.li_at)

    @model_validator(mode="after")
    def _one_way(self) -> Credentials:
        if self.li_at and (self.username or self.password):
            raise ValueError("give either username and password, or li_at, not both")
        if bool(self.username) != bool(self.password):
            raise ValueError("username and password go together")
        return self


class AccountConnect(Credentials):
    account_name: Name | None = None
    timezone: Timezone = "UTC"
    safety: SafetyDocument = Field(
        default_factory=dict, description="per-account overrides of REVOS_SAFETY_*"
    )
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None

    @model_validator(mode="after")
    def _needs_credentials(self) -> AccountConnect:
        if not self.has_any():
            raise ValueError("give username and password, or the li_at cookie")
        return self


class Reconnect(Credentials):
    """Empty body: reconnect with the stored credentials. Otherwise the new ones (stored on success)."""


class AccountUpdate(PatchModel):
    account_name: Name | None = None
    timezone: Timezone | None = None
    safety: SafetyDocument | None = None


class CheckpointSolve(StrictModel):
    code: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class PauseRequest(StrictModel):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    until: datetime | None = None


class Checkpoint(BaseModel):
    type: str
    source: str | None = None
    solvable: bool = True
    message: str
    started_at: datetime | None = None


class LinkedInAccount(BaseModel):
    """An account as the API shows it: never a credential, and never the login (email or phone)."""

    id: UUID
    client_id: UUID
    user_id: UUID | None
    account_name: str
    unipile_account_id: str | None
    status: str | None
    provider_status: str | None
    checkpoint: Checkpoint | None
    profile_data: dict[str, Any] | None
    timezone: str
    safety: dict[str, Any]
    paused: bool
    paused_at: datetime | None
    paused_until: datetime | None
    pause_reason: str | None
    pause_source: str | None
    warmup_started_at: datetime | None
    next_action_at: datetime | None
    daily_dm_count: int | None
    daily_post_count: int | None
    last_sync_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LinkedInAccount:
        cp = row.get("checkpoint")
        checkpoint = None
        if cp:
            checkpoint = Checkpoint(
                type=cp.get("type", "UNKNOWN"),
                source=cp.get("source"),
                solvable=cp.get("type") != "CAPTCHA",
                message=checkpoint_message(cp.get("type"), cp.get("source")),
                started_at=cp.get("started_at"),
            )
        profile = row.get("profile_data")
        if isinstance(profile, dict) and "email" in profile:
            # Rows written before the email was left out of the profile (the login is a credential).
            profile = {k: v for k, v in profile.items() if k != "email"}
        return cls.model_validate(
            {
                **row,
                "profile_data": profile,
                "checkpoint": checkpoint,
                "paused": row.get("paused_at") is not None,
            }
        )


def checkpoint_message(kind: str | None, source: str | None) -> str:
    if kind == "2FA":
        where = {"SMS": "by text message", "APP": "in your authenticator app"}.get(source or "", "")
        return f"Enter the two-factor code LinkedIn sent {where}".strip() + ": POST it to /checkpoint"
    if kind == "OTP":
        return "Enter the one-time code LinkedIn sent by email or text: POST it to /checkpoint"
    if kind == "IN_APP_VALIDATION":
        return "Approve the sign-in in the LinkedIn mobile app; the account becomes active by itself"
    if kind == "PHONE_REGISTER":
        return "LinkedIn wants a phone number: POST it as the code, formatted (+33)0612345678"
    if kind == "CONTRACT_CHOOSER":
        return "Choose a Recruiter contract: POST its id as the code"
    if kind == "CAPTCHA":
        return (
            "LinkedIn asked for a CAPTCHA, which cannot be solved here: connect with the li_at cookie instead"
        )
    return "LinkedIn asked for a verification: POST the code to /checkpoint"


RedirectUrl = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s]+$")]


class HostedLinkCreate(StrictModel):
    """A link where a person connects their LinkedIn account on Unipile's own page (no password to revOS)."""

    account_id: UUID | None = Field(default=None, description="reconnect this account instead of adding one")
    success_redirect_url: RedirectUrl | None = None
    failure_redirect_url: RedirectUrl | None = None
    expires_in_minutes: int = Field(default=60, ge=5, le=1440)


class HostedLink(BaseModel):
    url: str
    expires_at: datetime
