"""The navigation: one entry per page, shown to those allowed to open it (docs/dashboard.md)."""

from __future__ import annotations

from dataclasses import dataclass

from revos.api.permissions import allowed
from revos.security.jwt import Claims


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: str | None = None  # revos.api.permissions.MATRIX; None: every signed-in person
    staff_only: bool = False  # agency staff only (their clients)


NAV: list[NavItem] = [
    NavItem("Overview", "/app/"),
    NavItem("Campaigns", "/app/campaigns", permission="campaigns.read"),
    NavItem("Leads", "/app/leads", permission="leads.read"),
    NavItem("Review", "/app/review", permission="leads.review"),
    NavItem("LinkedIn accounts", "/app/accounts", permission="campaigns.read"),
    NavItem("Webhooks", "/app/webhooks", permission="leads.read"),
    NavItem("Pods", "/app/pods", permission="campaigns.read"),
    NavItem("Cartridges", "/app/cartridges", permission="cartridges.read"),
    NavItem("Skills", "/app/skills", permission="campaigns.read"),
    NavItem("Users & API keys", "/app/users", permission="users.manage"),
    NavItem("Audit log", "/app/audit", permission="audit.read"),
    NavItem("Clients", "/app/clients", staff_only=True),
]


def register(item: NavItem, *, before: str | None = None) -> None:
    """Add a page's entry (by default at the end; `before`: ahead of the entry with that path)."""
    if any(existing.path == item.path for existing in NAV):
        return
    index = next((i for i, e in enumerate(NAV) if e.path == before), len(NAV))
    NAV.insert(index, item)


def visible(claims: Claims, *, agency_staff: bool) -> list[NavItem]:
    return [
        item
        for item in NAV
        if (item.permission is None or allowed(claims, item.permission))
        and (agency_staff or not item.staff_only)
    ]
