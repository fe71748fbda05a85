"""Event payloads: `{"type", "timestamp", "data"}` (Standard Webhooks' recommended envelope).

The payload is built when the event is enqueued (a snapshot of the lead at that moment) and stored on
the delivery, so every retry and replay sends the same body.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

LEAD_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "linkedin_id",
    "linkedin_url",
    "company",
    "title",
    "source",
    "status",
    "custom_fields",
    "created_at",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def envelope(event_type: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": _jsonable(at), "data": data}


def lead_data(lead: dict[str, Any], campaign: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"lead": {k: _jsonable(lead.get(k)) for k in LEAD_FIELDS}}
    data["lead"]["custom_fields"] = lead.get("custom_fields") or {}
    if campaign is not None:
        data["campaign"] = {"id": _jsonable(campaign["id"]), "name": campaign["name"]}
    data.update({k: _jsonable(v) for k, v in extra.items()})
    return data


def body_of(payload: dict[str, Any]) -> str:
    """The exact bytes sent (and signed): compact, keys sorted, so it is the same on every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def sample_lead_payloads(at: datetime, event_type: str = "lead.captured") -> list[dict[str, Any]]:
    """What a receiver (a Zap, a Make scenario) can map fields from before a real lead arrives."""
    people = [
        ("Jane", "Doe", "jane.doe@example.com", "Acme Corp", "Head of Growth"),
        ("Ravi", "Patel", "ravi@example.org", "Northwind", "Founder"),
    ]
    out = []
    for i, (first, last, email, company, title) in enumerate(people, start=1):
        lead = {
            "id": f"00000000-0000-4000-8000-00000000000{i}",
            "email": email,
            "first_name": first,
            "last_name": last,
            "linkedin_id": f"ACoAAsample{i}",
            "linkedin_url": f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}",
            "company": company,
            "title": title,
            "source": "comment",
            "status": "email_captured",
            "custom_fields": {},
            "created_at": at,
        }
        campaign = {"id": "00000000-0000-4000-8000-0000000000c1", "name": "Sample campaign"}
        out.append(envelope(event_type, at, lead_data(lead, campaign)))
    return out
