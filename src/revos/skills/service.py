"""Campaign skills: their configuration per campaign, the execution log, the review of `human` runs and
the scheduler. Runs themselves are in revos.skills.runner. Never commits (except `run_due`, the
scheduler's own transactions).

Modes (the spec's): `ai` runs when triggered (POST …/run); `scheduled` runs at `schedule` (the worker
claims it once, then clears the schedule or moves it by `config.repeat_every_hours`); `human` runs when
triggered, but its output waits: a person approves it (optionally edited: for copywriting, the approved
draft then becomes the campaign's post) or rejects it, once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.campaigns import service as campaigns
from revos.clock import utcnow
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, RevosError
from revos.runtime import Runtime
from revos.skills import repo, runner, schemas
from revos.skills.context import invalid
from revos.skills.kinds import chosen_text
from revos.skills.runner import KINDS, kind_of, options, run

__all__ = ["KINDS", "approve", "configure", "reject", "run", "run_due"]

log = logging.getLogger(__name__)


class AlreadyReviewed(Conflict):
    code = "already_reviewed"


def skill_view(campaign_id: UUID, name: str, row: Mapping[str, Any] | None) -> schemas.Skill:
    if row is None:
        return schemas.Skill(
            campaign_id=campaign_id, skill_name=name, configured=False, execution_mode="ai",
            schedule=None, config={}, enabled=True,
        )  # fmt: skip
    return schemas.Skill.model_validate({**row, "configured": True, "config": row.get("config") or {}})


def execution_view(row: Mapping[str, Any]) -> schemas.Execution:
    return schemas.Execution.model_validate({**row, "cost_usd": float(row.get("cost_usd") or 0)})


async def skills_of(conn: Conn, campaign_id: UUID) -> list[schemas.Skill]:
    await campaigns.get_campaign(conn, campaign_id)
    rows = {r["skill_name"]: r for r in await repo.skills_of(conn, campaign_id)}
    return [skill_view(campaign_id, name, rows.get(name)) for name in schemas.SKILLS]


async def skill_of(conn: Conn, campaign_id: UUID, name: str) -> schemas.Skill:
    kind_of(name)
    await campaigns.get_campaign(conn, campaign_id)
    return skill_view(campaign_id, name, await repo.get_skill(conn, campaign_id, name))


def _check_schedule(mode: str, schedule: datetime | None, now: datetime) -> None:
    if mode == "scheduled":
        if schedule is None:
            raise invalid("schedule", "a scheduled skill needs `schedule`: when it runs (a future time)")
        if schedule <= now:
            raise invalid("schedule", f"must be in the future (now is {now.isoformat()})")
    elif schedule is not None:
        raise invalid("schedule", f"only a scheduled skill has a schedule (execution_mode is {mode})")


async def configure(conn: Conn, campaign_id: UUID, name: str, body: schemas.SkillConfigure) -> dict[str, Any]:
    """Replace the skill's configuration for the campaign (the config validated as the skill's options)."""
    kind = kind_of(name)
    campaign = await campaigns.get_campaign(conn, campaign_id, for_update=True)
    options(kind, body.config, "config")
    _check_schedule(body.execution_mode, body.schedule, utcnow())
    return await repo.upsert_skill(
        conn,
        {
            "client_id": campaign["client_id"],
            "campaign_id": campaign_id,
            "skill_name": name,
            "execution_mode": body.execution_mode,
            "schedule": body.schedule,
            "config": body.config,
            "enabled": body.enabled,
        },
    )


async def unconfigure(conn: Conn, campaign_id: UUID, name: str) -> None:
    kind_of(name)
    await campaigns.get_campaign(conn, campaign_id)
    if not await repo.delete_skill(conn, campaign_id, name):
        raise NotFound(f"the {name} skill is not configured for this campaign")


async def get_execution(conn: Conn, execution_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get_execution(conn, execution_id, for_update=for_update)
    if row is None:
        raise NotFound("skill execution not found")
    return row


async def executions(
    conn: Conn, campaign_id: UUID, *, skill: str | None, success: bool | None, review_status: str | None,
    cursor: str | None, limit: int,
) -> tuple[list[dict[str, Any]], str | None]:  # fmt: skip
    if skill is not None:
        kind_of(skill)
    await campaigns.get_campaign(conn, campaign_id)
    return await repo.page_executions(
        conn, campaign_id=campaign_id, skill=skill, success=success, review_status=review_status,
        cursor=cursor, limit=limit,
    )  # fmt: skip


async def _pending(conn: Conn, execution_id: UUID) -> dict[str, Any]:
    row = await get_execution(conn, execution_id, for_update=True)
    status = row["review_status"]
    if status in ("approved", "rejected"):
        raise AlreadyReviewed(
            f"the run was already {status} at {row['reviewed_at'].isoformat()}",
            detail={"review_status": status},
        )
    if status != "pending":
        raise Conflict("the run waits for no review: only runs of a skill in human mode do")
    return row


async def approve(
    runtime: Runtime, conn: Conn, execution_id: UUID, body: schemas.Approve, *, reviewer: UUID | None
) -> dict[str, Any]:
    """Approve a pending run, optionally with the text edited. An approved copywriting draft becomes the
    campaign's post (a voice rewrite its template, when the run asked to apply it); if that cannot be
    done, nothing changes and the run stays pending."""
    row = await _pending(conn, execution_id)
    kind = kind_of(row["skill_name"])
    output = dict(row["output_data"] or {})
    changes: dict[str, Any] = {}
    if "text" in output or "drafts" in output or "texts" in output:
        original = chosen_text(output, body.choose)
        text = body.text or original
        output |= {"approved_text": text, "edited": text != original}
        if body.choose is not None:
            output["chosen"] = body.choose
        overrides = body.model_dump(include={"post_id", "linkedin_account_id"}, exclude_none=True)
        opts = options(kind, {**(row["input_data"] or {}).get("options", {}), **overrides}, "input")
        if kind.apply is not None and (row["skill_name"] == "copywriting" or getattr(opts, "apply", False)):
            campaign = await campaigns.get_campaign(conn, row["campaign_id"])
            applied = await runner.apply_in_savepoint(runtime, conn, kind, campaign, opts, text)
            output["applied"] = {"post_id": str(applied.post_id) if applied.post_id else None,
                                 "target": applied.target}  # fmt: skip
            changes["applied_post_id"] = applied.post_id
    elif body.text is not None or body.choose is not None:
        raise invalid("text", f"a {row['skill_name']} run has no text to edit: approve it as it is")
    changes |= {
        "review_status": "approved",
        "reviewed_by": reviewer,
        "reviewed_at": utcnow(),
        "output_data": output,
    }
    updated = await repo.update_execution(conn, execution_id, changes)
    assert updated is not None
    return updated


async def reject(
    conn: Conn, execution_id: UUID, body: schemas.Reject, *, reviewer: UUID | None
) -> dict[str, Any]:
    await _pending(conn, execution_id)
    updated = await repo.update_execution(
        conn,
        execution_id,
        {
            "review_status": "rejected",
            "reviewed_by": reviewer,
            "reviewed_at": utcnow(),
            "review_note": body.reason,
        },
    )
    assert updated is not None
    return updated


def next_schedule(row: Mapping[str, Any], now: datetime) -> datetime | None:
    """After a scheduled run: cleared, or moved past `now` by `config.repeat_every_hours`."""
    hours = (row.get("config") or {}).get("repeat_every_hours")
    if not isinstance(hours, (int, float)) or hours <= 0:
        return None
    step = timedelta(hours=float(hours))
    when: datetime = row["schedule"]
    missed = max(0, int((now - when) / step)) + 1
    return when + step * missed


async def run_due(runtime: Runtime, *, now: datetime | None = None, limit: int | None = None) -> int:
    """The scheduler: run each due scheduled skill once. A skill is claimed with `for update skip locked`
    in a transaction that holds it through its run: its schedule is cleared (or moved) and its log entry
    written in that transaction, so two workers never run it twice and a crash leaves it due."""
    now = now or utcnow()
    limit = limit or runtime.settings.skills_scheduled_batch
    done = 0
    for _ in range(limit):
        async with runtime.db.service(actor="skills.scheduled") as conn:
            row = await repo.claim_due(conn, now)
            if row is None:
                break
            await repo.set_schedule(conn, row["id"], next_schedule(row, now))

            @contextlib.asynccontextmanager
            async def savepoint(conn: Conn = conn) -> AsyncIterator[Conn]:
                async with conn.transaction():
                    yield conn

            try:
                await run(runtime, savepoint, campaign_id=row["campaign_id"], skill=row["skill_name"],
                          triggered_by="schedule")  # fmt: skip
            except RevosError as exc:  # logged in its execution row (or refused: disabled, invalid config)
                log.warning(
                    "scheduled %s of campaign %s: %s", row["skill_name"], row["campaign_id"], exc.message
                )
        done += 1
    return done
