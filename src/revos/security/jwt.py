"""Supabase-compatible HS256 JWTs: claims `sub`, `role`, `client_id`, `agency_id`, `user_role`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import jwt
from pydantic import BaseModel, ValidationError

from revos.errors import Unauthorized

AUDIENCE = "authenticated"
UserRole = Literal["admin", "manager", "member"]


class Claims(BaseModel):
    sub: str
    role: Literal["authenticated", "service_role"] = "authenticated"
    client_id: UUID | None = None
    agency_id: UUID | None = None
    user_role: UserRole = "member"
    # Operators run the deployment: staff tokens issued with `revos agency token --operator` may also
    # write what every tenant shares (system cartridges). Ignored on any other token.
    operator: bool = False

    @property
    def is_agency_staff(self) -> bool:
        return self.client_id is None and self.agency_id is not None and self.user_role == "admin"

    @property
    def is_operator(self) -> bool:
        return self.operator and self.is_agency_staff

    def for_database(self) -> dict[str, Any]:
        """The claims as RLS policies read them through auth.jwt()."""
        claims = self.model_dump(mode="json", exclude_none=True)
        if not self.operator:
            claims.pop("operator")
        return claims


def issue(claims: Claims, secret: str, *, ttl_seconds: int = 3600, issuer: str = "revos") -> str:
    # Wall time, not the (possibly scaled) revOS clock: verifiers and revocations read wall time.
    now = datetime.now(UTC)
    payload = claims.for_database() | {
        "aud": AUDIENCE,
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def verify(token: str, secret: str) -> Claims:
    """Validate signature, expiry and audience; the reason goes to the client, never the token."""
    return verify_with_issue_time(token, secret)[0]


def verify_with_issue_time(token: str, secret: str) -> tuple[Claims, int | None]:
    """`verify`, plus the token's `iat` (seconds since the epoch) when it has a valid one."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "sub"]},
            # The API's clock may be scaled in demos; expiry follows wall time like the issuer's.
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc.__class__.__name__}") from exc
    try:
        claims = Claims.model_validate(payload)
    except ValidationError as exc:
        raise Unauthorized("token claims are malformed") from exc
    if claims.role != "authenticated":
        raise Unauthorized("token role is not accepted by the API")
    if claims.client_id is None and not claims.is_agency_staff:
        raise Unauthorized("token names no client (agency tokens need agency_id and user_role=admin)")
    issued_at = payload.get("iat")
    return claims, issued_at if isinstance(issued_at, int) and not isinstance(issued_at, bool) else None
