"""Running a skill, and its log entry: every run, successful or not, writes one `skill_executions` row.

A run takes three steps, each in its own transaction opened with `open_tx` (a request's tenant
transaction, or savepoints of the scheduler's claim):

1. read: the campaign, the skill's configuration and options (a refusal here — unknown campaign,
   disabled skill, invalid options — is an answer to a bad request: no run, no row), then the voice,
   the memories and the prompt;
2. the provider call, outside any transaction (revos.ai.service.complete records the usage itself);
3. the log entry, and in `ai` and `scheduled` mode the output applied when asked (a copywriting draft
   becomes the campaign's post). Applying runs in a savepoint: when it fails, nothing of it stays and
   the entry says why. In `human` mode nothing is applied: the entry waits for a reviewer.

A failed run raises its error after its entry is written, with the entry's id in the error's info.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

import psycopg
from pydantic import ValidationError

from revos.ai import service as ai
from revos.ai.base import Completion
from revos.campaigns import service as campaigns
from revos.db.pool import Conn
from revos.errors import Conflict, RevosError, ValidationFailed
from revos.runtime import Runtime
from revos.skills import context, copywriting, deliverability, design, repo, rewrite
from revos.skills.kinds import Applied, Kind, Prepared
from revos.skills.schemas import SKILLS, Options

log = logging.getLogger(__name__)

KINDS: dict[str, Kind] = {
    k.name: k for k in (copywriting.KIND, rewrite.KIND, deliverability.KIND, design.KIND)
}
OpenTx = Callable[[], AbstractAsyncContextManager[Conn]]


class SkillDisabled(Conflict):
    code = "skill_disabled"


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise context.invalid("skill", f"unknown skill {name[:60]!r}: one of {', '.join(SKILLS)}")
    return kind


def options(kind: Kind, values: dict[str, Any], where: str) -> Options:
    """The skill's options from `values`, or a 422 naming every offending field (prefixed by `where`)."""
    try:
        return kind.options.model_validate(values)
    except ValidationError as exc:
        problems = [
            (".".join([where, *(str(p) for p in err["loc"])]), err["msg"])
            for err in exc.errors(include_url=False)
        ]
        failure = ValidationFailed("; ".join(f"{f}: {m}" for f, m in problems))
        failure.field = problems[0][0] if problems else where  # type: ignore[attr-defined]
        raise failure from None


def with_execution_id(exc: RevosError, execution_id: UUID) -> RevosError:
    info = exc.detail if isinstance(exc.detail, dict) else ({"reason": exc.detail} if exc.detail else {})
    exc.detail = {**info, "execution_id": str(execution_id)}
    return exc


async def apply_in_savepoint(
    runtime: Runtime, conn: Conn, kind: Kind, campaign: dict[str, Any], opts: Options, text: str
) -> Applied:
    """`kind.apply` in a savepoint: it changes everything it should, or nothing (then it raises)."""
    assert kind.apply is not None
    try:
        async with conn.transaction():
            return await kind.apply(runtime, conn, campaign, opts, text)
    except ValidationError as exc:
        raise ValidationFailed(f"the output cannot be applied: {exc.errors()[0]['msg']}") from None
    except psycopg.errors.IntegrityError as exc:
        raise Conflict(f"the output cannot be applied: {type(exc).__name__}") from None


async def run(
    runtime: Runtime,
    open_tx: OpenTx,
    *,
    campaign_id: UUID,
    skill: str,
    overrides: dict[str, Any] | None = None,
    triggered_by: str = "api",
    caller: UUID | None = None,
) -> dict[str, Any]:
    """Run `skill` for the campaign and return its log entry (see the module's doc)."""
    kind = kind_of(skill)
    started = time.perf_counter()
    failure: RevosError | None = None
    prepared: Prepared | None = None
    base: context.Base | None = None
    async with open_tx() as conn:
        campaign = await campaigns.get_campaign(conn, campaign_id)
        setting = await repo.get_skill(conn, campaign_id, skill)
        if setting is not None and not setting["enabled"]:
            raise SkillDisabled(f"the {skill} skill is disabled for this campaign")
        mode = setting["execution_mode"] if setting else "ai"
        config = dict(setting["config"] or {}) if setting else {}
        opts = options(kind, {**config, **(overrides or {})}, "input")
        try:
            async with conn.transaction():
                base = await context.load(runtime, conn, campaign, opts, skill=skill, caller=caller)
                if kind.check_target is not None and mode != "human":
                    await kind.check_target(conn, campaign, opts)
                prepared = await kind.prepare(runtime, conn, base, opts)
        except RevosError as exc:
            failure = exc
    completion: Completion | None = None
    output: dict[str, Any] | None = None
    if failure is None and prepared is not None:
        try:
            completion = await ai.complete(
                runtime, runtime.db, client_id=campaign["client_id"], request=prepared.request
            )
            output = kind.output(prepared, completion, opts)
        except RevosError as exc:
            failure = exc
    values: dict[str, Any] = {
        "client_id": campaign["client_id"],
        "campaign_id": campaign_id,
        "skill_name": skill,
        "execution_mode": mode,
        "triggered_by": triggered_by,
        "input_data": _input_record(opts, prepared),
        "tokens_used": completion.tokens if completion else 0,
        "cost_usd": completion.cost_usd if completion else 0,
        "provider": completion.provider if completion else None,
        "model": completion.model if completion else None,
    }
    if base is not None:
        values |= base.provenance()
    async with open_tx() as conn:
        if output is not None and mode == "human":
            values["review_status"] = "pending"
        elif output is not None and kind.apply is not None and getattr(opts, "apply", False):
            try:
                applied = await apply_in_savepoint(runtime, conn, kind, campaign, opts, output["text"])
                output["applied"] = {
                    "post_id": applied.post_id and str(applied.post_id),
                    "target": applied.target,
                }
                values["applied_post_id"] = applied.post_id
            except RevosError as exc:
                failure = exc
        values |= {
            "output_data": output,
            "success": failure is None,
            "error_message": _message(failure),
            "execution_time_ms": int((time.perf_counter() - started) * 1000),
        }
        row = await repo.insert_execution(conn, values)
    if failure is not None:
        log.info("skill %s of campaign %s failed: %s", skill, campaign_id, failure.message)
        raise with_execution_id(failure, row["id"])
    return row


def _input_record(opts: Options, prepared: Prepared | None) -> dict[str, Any]:
    """What the run was given and what it read: its options, the facts it used (memory ids, texts
    checked) and the prompt the provider received (so a run can be audited)."""
    record: dict[str, Any] = {"options": opts.model_dump(mode="json", exclude_defaults=True)}
    if prepared is not None:
        record["context"] = prepared.context
        record["prompt"] = {"system": prepared.request.system, "prompt": prepared.request.prompt}
    return record


def _message(failure: RevosError | None) -> str | None:
    if failure is None:
        return None
    return f"{failure.code}: {failure.message}"[:2000]
