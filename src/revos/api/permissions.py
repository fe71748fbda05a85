"""The role permission matrix (documented in the README; tests assert it).

Roles are per client: admin > manager > member. Agency staff (an agency token: `agency_id`,
`user_role=admin`, no `client_id`) hold the admin column across every client of their agency,
plus `clients.create` and `agency.update`, which no client-scoped role has. Operators (staff with an
operator token) alone write what all tenants share (`cartridges.system.write`).
"""

from __future__ import annotations

from uuid import UUID

from revos.errors import Forbidden, NotFound, ValidationFailed
from revos.security.jwt import Claims

ADMIN, MANAGER, MEMBER = "admin", "manager", "member"

MATRIX: dict[str, frozenset[str]] = {
    "agency.read": frozenset({ADMIN, MANAGER, MEMBER}),
    "clients.read": frozenset({ADMIN, MANAGER, MEMBER}),
    "clients.update": frozenset({ADMIN}),
    "users.read": frozenset({ADMIN, MANAGER, MEMBER}),
    "users.manage": frozenset({ADMIN}),
    "api_keys.manage": frozenset({ADMIN}),
    "campaigns.read": frozenset({ADMIN, MANAGER, MEMBER}),
    "campaigns.write": frozenset({ADMIN, MANAGER}),
    "linkedin_accounts.manage": frozenset({ADMIN, MANAGER}),
    "webhooks.manage": frozenset({ADMIN, MANAGER}),
    "leads.read": frozenset({ADMIN, MANAGER, MEMBER}),
    "leads.review": frozenset({ADMIN, MANAGER, MEMBER}),
    "audit.read": frozenset({ADMIN}),
    "data.export": frozenset({ADMIN}),
    "cartridges.read": frozenset({ADMIN, MANAGER, MEMBER}),
    "cartridges.write": frozenset({ADMIN, MANAGER}),
}
AGENCY_ONLY = frozenset({"clients.create", "clients.delete", "agency.update"})
# What every tenant shares (system cartridges): only operators write it (staff tokens issued with
# `revos agency token --operator`; the CLI writes as the service role).
OPERATOR_ONLY = frozenset({"cartridges.system.write"})


def allowed(claims: Claims, permission: str) -> bool:
    if permission in OPERATOR_ONLY:
        return claims.is_operator
    if permission in AGENCY_ONLY:
        return claims.is_agency_staff
    if claims.is_agency_staff:
        return permission in MATRIX
    roles = MATRIX.get(permission)
    if roles is None:
        raise KeyError(f"unknown permission {permission!r}")
    return claims.user_role in roles


def require(claims: Claims, permission: str) -> None:
    if not allowed(claims, permission):
        who = "agency staff" if claims.is_agency_staff else f"role {claims.user_role!r}"
        if permission in OPERATOR_ONLY:
            raise Forbidden(f"only operators may {permission.replace('.', ' ')} (an operator token)")
        raise Forbidden(f"{who} may not {permission.replace('.', ' ').replace('_', ' ')}")


def target_client(claims: Claims, requested: UUID | None) -> UUID:
    """The client a write applies to: the caller's own, or the one agency staff name."""
    if claims.client_id is not None:
        if requested is not None and requested != claims.client_id:
            raise NotFound("client not found")
        return claims.client_id
    if requested is None:
        raise ValidationFailed("client_id is required for agency-wide tokens")
    return requested
