"""Rules for campaigns: validation within the tenant, templates, settings and the lifecycle.

    draft ──activate──▶ active ◀──activate/resume── paused
                          │ └──pause──▶ paused        │
                          └──complete──▶ completed ◀──┘

A campaign *runs* (`is_running`) when it is active and now lies within `starts_at`/`ends_at`: only a
running campaign publishes posts, polls comments, creates leads and sends DMs. Never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.campaigns import repo, schemas

# The engine's reading of a campaign lives in rules.py; re-exported for the callers that use this module.
from revos.campaigns.rules import fuzzy_triggers as fuzzy_triggers
from revos.campaigns.rules import is_running as is_running
from revos.campaigns.rules import settings_of as settings_of
from revos.campaigns.rules import trigger_words_of as trigger_words_of
from revos.clock import utcnow
from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, ValidationFailed
from revos.text.templates import validate_template, variables_in

# Variables a post template may use: it is rendered once per post, so nothing about a lead.
POST_VARIABLES: tuple[str, ...] = (
    "trigger_word",
    "lead_magnet_name",
    "lead_magnet_description",
    "campaign_name",
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active"}),
    "active": frozenset({"paused", "completed"}),
    "paused": frozenset({"active", "completed"}),
    "completed": frozenset(),
}
_ACTION = {"active": "activate", "paused": "pause", "completed": "complete"}


class CampaignNotRunnable(Conflict):
    code = "campaign_not_runnable"


class IllegalTransition(Conflict):
    code = "illegal_transition"


def view(row: Mapping[str, Any], now: datetime | None = None) -> schemas.Campaign:
    return schemas.Campaign.model_validate(
        {
            **row,
            "trigger_words": trigger_words_of(row),
            "settings": row.get("settings") or {},
            "metrics": row.get("metrics") or {},
            "is_running": is_running(row, now),
        }
    )


def check_templates(values: Mapping[str, Any]) -> None:
    """422 naming every unknown variable, per field, so a typo never reaches a lead."""
    problems: dict[str, list[str]] = {}
    for field in ("dm_template_step1", "dm_template_step2", "dm_template_step3"):
        if values.get(field):
            unknown = validate_template(values[field])
            if unknown:
                problems[field] = unknown
    settings = values.get("settings") or {}
    for key in ("invitation_note", "follow_up_template"):
        if settings.get(key):
            unknown = validate_template(settings[key])
            if unknown:
                problems[f"settings.{key}"] = unknown
    if values.get("post_template"):
        unknown = [v for v in variables_in(values["post_template"]) if v not in POST_VARIABLES]
        if unknown:
            problems["post_template"] = unknown
    if problems:
        listed = "; ".join(
            f"{field}: {', '.join('{{' + v + '}}' for v in names)}" for field, names in problems.items()
        )
        raise ValidationFailed(
            f"unknown template variable(s) — {listed}", detail={"unknown_variables": problems}
        )


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ValidationFailed("ends_at must be after starts_at")


async def _check_references(conn: Conn, client_id: UUID, values: Mapping[str, Any]) -> None:
    # Under RLS another tenant's row is invisible: "not found" says nothing about it existing.
    magnet_id = values.get("lead_magnet_id")
    if magnet_id is not None and await repo.lead_magnet_client(conn, magnet_id) != client_id:
        raise ValidationFailed("lead_magnet_id: no such lead magnet in this client")
    config_id = values.get("webhook_config_id")
    if config_id is not None and await repo.webhook_config_client(conn, config_id) != client_id:
        raise ValidationFailed("webhook_config_id: no such webhook config in this client")


def _settings_document(model: schemas.CampaignSettings, defaults: Settings) -> dict[str, Any]:
    doc = model.model_dump(exclude_none=True, mode="json")
    # The two settings a person most often asks about are written out, not left implicit.
    doc.setdefault("abandon_after_days", defaults.dm_abandon_after_days)
    doc.setdefault("email_review_threshold", defaults.dm_email_review_threshold)
    return doc


async def create_campaign(
    conn: Conn, *, client_id: UUID, body: schemas.CampaignCreate, settings: Settings
) -> dict[str, Any]:
    values = body.model_dump(exclude={"client_id", "settings"})
    values["settings"] = _settings_document(body.settings, settings)
    values["trigger_word"] = values["trigger_words"][0]
    values["client_id"] = client_id
    values["status"] = "draft"
    check_templates(values)
    _check_window(values.get("starts_at"), values.get("ends_at"))
    await _check_references(conn, client_id, values)
    if await repo.name_taken(conn, client_id, values["name"]):
        raise Conflict(f"a campaign named {values['name']!r} already exists")
    return await repo.insert(conn, values)


async def get_campaign(conn: Conn, campaign_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get(conn, campaign_id, for_update=for_update)
    if row is None:
        raise NotFound("campaign not found")
    return row


async def update_campaign(
    conn: Conn, campaign_id: UUID, body: schemas.CampaignUpdate, *, settings: Settings
) -> dict[str, Any]:
    current = await get_campaign(conn, campaign_id, for_update=True)
    if current["status"] == "completed":
        raise Conflict("a completed campaign cannot be changed")
    changes = body.model_dump(exclude_unset=True, exclude={"settings"})
    for required in ("name", "trigger_words"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null")
    if body.settings is not None:
        changes["settings"] = _settings_document(body.settings, settings)
    elif "settings" in body.model_fields_set:
        raise ValidationFailed("settings cannot be null; send {} to reset to the defaults")
    if "trigger_words" in changes:
        changes["trigger_word"] = changes["trigger_words"][0]
    check_templates(changes)
    merged = {**current, **changes}
    _check_window(merged.get("starts_at"), merged.get("ends_at"))
    await _check_references(conn, current["client_id"], changes)
    if "name" in changes and await repo.name_taken(
        conn, current["client_id"], changes["name"], other_than=campaign_id
    ):
        raise Conflict(f"a campaign named {changes['name']!r} already exists")
    if (
        current["status"] in ("active", "paused")
        and "lead_magnet_id" in changes
        and not changes["lead_magnet_id"]
    ):
        raise CampaignNotRunnable("a running campaign needs its lead magnet; pause and complete it instead")
    row = await repo.update(conn, campaign_id, changes)
    assert row is not None
    return row


def _check_runnable(campaign: Mapping[str, Any], now: datetime) -> None:
    if not trigger_words_of(campaign):
        raise CampaignNotRunnable("the campaign has no trigger word")
    if campaign.get("lead_magnet_id") is None:
        raise CampaignNotRunnable("attach a lead magnet (lead_magnet_id) before activating the campaign")
    ends_at = campaign.get("ends_at")
    if ends_at is not None and ends_at <= now:
        raise CampaignNotRunnable(f"the campaign ended at {ends_at.isoformat()}; move ends_at to activate it")


async def transition(
    conn: Conn, campaign_id: UUID, target: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Move the campaign to `target`; 409 on a transition the lifecycle does not allow."""
    now = now or utcnow()
    current = await get_campaign(conn, campaign_id, for_update=True)
    status = current["status"]
    if status == target:
        return current  # idempotent: activating an active campaign is not an error
    if target not in TRANSITIONS.get(status, frozenset()):
        allowed = ", ".join(_ACTION[t] for t in sorted(TRANSITIONS.get(status, frozenset()))) or "nothing"
        raise IllegalTransition(
            f"cannot {_ACTION.get(target, target)} a {status} campaign (allowed: {allowed})",
            detail={"from": status, "to": target},
        )
    if target == "active":
        _check_runnable(current, now)
    row = await repo.update(conn, campaign_id, {"status": target})
    assert row is not None
    return row


async def delete_campaign(conn: Conn, campaign_id: UUID) -> None:
    current = await get_campaign(conn, campaign_id, for_update=True)
    if current["status"] == "active":
        raise Conflict("pause or complete the campaign before deleting it")
    if await repo.has_history(conn, campaign_id):
        raise Conflict(
            "the campaign has published posts, leads or skill runs; complete it instead of deleting it"
        )
    await repo.delete(conn, campaign_id)


async def complete_ended(conn: Conn, *, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Service role: campaigns past their ends_at become completed."""
    return await repo.complete_ended(conn, now, limit)


async def archive_completed(
    conn: Conn, *, now: datetime, after_days: float, limit: int = 500
) -> list[dict[str, Any]]:
    """Service role: campaigns completed more than `after_days` ago are archived."""
    return await repo.archive_completed(conn, now - timedelta(days=after_days), limit)


async def record_metrics(conn: Conn, metrics: dict[UUID, dict[str, Any]]) -> int:
    """Store campaigns' funnel totals (from analytics) in `campaigns.metrics`; returns how many changed."""
    return await repo.merge_metrics(conn, metrics)
