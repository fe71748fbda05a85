"""Campaigns: the list, create and edit (lead magnet upload, trigger words, DM templates with a live
preview, webhook, working hours, the first post's LinkedIn account), the lifecycle (activate, pause,
complete) and the post (schedule or publish now). The same services as /v1/campaigns, /v1/posts and
/v1/lead-magnets, in the person's RLS transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from revos.accounts import repo as accounts_repo
from revos.campaigns import repo, schemas, service
from revos.campaigns.schemas import WEEKDAYS
from revos.errors import RevosError, ValidationFailed
from revos.magnets import repo as magnets_repo
from revos.magnets import service as magnets
from revos.posts import repo as posts_repo
from revos.posts import schemas as post_schemas
from revos.posts import service as posts
from revos.posts import tasks as post_tasks
from revos.text.templates import DEFAULT_TEMPLATES, VARIABLES, render, validate_template
from revos.web import forms
from revos.web.deps import Page, PageDep
from revos.web.pages import page_router
from revos.webhooks import repo as webhooks_repo

router = page_router()
TEMPLATE_FIELDS = ("dm_template_step1", "dm_template_step2", "dm_template_step3")
ACTIONS = {"activate": "active", "pause": "paused", "complete": "completed"}
FORM_OVERHEAD = 64 * 1024
SAMPLE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "download_url": "https://revos.example/d/…",
}


async def _choices(page: Page) -> dict[str, Any]:
    """What the form offers to pick from: the client's lead magnets, webhooks and LinkedIn accounts."""
    async with page.tx() as conn:
        magnet_rows, _ = await magnets_repo.page(conn, cursor=None, limit=200, tag=None, client_id=None)
        hooks, _ = await webhooks_repo.list_configs(conn, cursor=None, limit=200, client_id=page.client_id)
        accounts, _ = await accounts_repo.page(conn, cursor=None, limit=200)
    return {"magnets": magnet_rows, "hooks": hooks, "accounts": accounts}


def previews(values: dict[str, Any], magnet_name: str | None) -> list[dict[str, Any]]:
    """Each DM step as a lead would read it (a sample lead), with its unknown variables."""
    sample = {**SAMPLE, "campaign_name": values.get("name") or "your campaign"}
    sample["lead_magnet_name"] = magnet_name or "your lead magnet"
    out = []
    for step, field in enumerate(TEMPLATE_FIELDS, start=1):
        text = values.get(field) or ""
        out.append(
            {
                "step": step,
                "field": field,
                "text": render(text or DEFAULT_TEMPLATES[step], sample),
                "default": not text,
                "unknown": validate_template(text),
            }
        )
    return out


def _values_of(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    values: dict[str, Any] = {
        name: text(name)
        for name in (
            "name", "description", "trigger_words", "lead_magnet_id", "webhook_config_id", *TEMPLATE_FIELDS,
            "start_hour", "end_hour", "email_review_threshold", "post_account_id", "post_content",
            "magnet_name",
        )
    }  # fmt: skip
    values["days"] = [d for d in form.getlist("days") if isinstance(d, str) and d in WEEKDAYS]
    values["fuzzy_triggers"] = form.get("fuzzy_triggers") == "on"
    return values


def _settings(values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The campaign's settings document: the current one with the form's keys changed."""
    settings = dict(current)
    start, end = (
        forms.number(values["start_hour"], "working hours start"),
        forms.number(values["end_hour"], "working hours end"),
    )
    if start is None and end is None:
        settings.pop("working_hours", None)
    else:
        settings["working_hours"] = {
            "start_hour": start if start is not None else 0,
            "end_hour": end if end is not None else 24,
            "days": values["days"] or list(WEEKDAYS),
        }
    threshold = forms.number(values["email_review_threshold"], "email review threshold")
    if threshold is not None:
        settings["email_review_threshold"] = threshold
    settings["fuzzy_triggers"] = values["fuzzy_triggers"]
    return settings


def _fields(values: dict[str, Any], magnet_id: str | None) -> dict[str, Any]:
    return {
        "name": values["name"],
        "description": forms.optional(values["description"]),
        "trigger_words": forms.words(values["trigger_words"]),
        "lead_magnet_id": magnet_id or None,
        "webhook_config_id": values["webhook_config_id"] or None,
        **{f: forms.optional(values[f]) for f in TEMPLATE_FIELDS},
    }


def _template_errors(exc: RevosError) -> dict[str, str]:
    unknown = (exc.detail or {}).get("unknown_variables") if isinstance(exc.detail, dict) else None
    if not unknown:
        return {}
    return {
        field: "unknown variable(s): " + ", ".join("{{" + v + "}}" for v in names)
        for field, names in unknown.items()
    }


async def _upload(page: Page, form: FormData, values: dict[str, Any]) -> tuple[str, str, str] | None:
    """Stores the uploaded lead magnet as the magnets API does; (id, backend, key) or None if no file."""
    file = form.get("magnet_file")
    if not isinstance(file, UploadFile) or not file.filename:
        return None
    settings = page.runtime.settings

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await file.read(1024 * 1024):
            yield chunk

    staged = await magnets.stage_upload(settings, chunks(), file.filename)
    backend, key = await magnets.store(settings, page.client_id, staged)
    try:
        async with page.tx() as conn:
            row = await magnets.create_magnet(
                conn, client_id=page.client_id, staged=staged, backend=backend, key=key,
                name=values["magnet_name"] or None, description=None, tags=[],
            )  # fmt: skip
    except BaseException:
        await magnets.discard(settings, backend, key)
        raise
    return str(row["id"]), backend, key


async def _form_page(
    page: Page,
    *,
    values: dict[str, Any],
    campaign: dict[str, Any] | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    choices = await _choices(page)
    magnet = next((m for m in choices["magnets"] if str(m["id"]) == values.get("lead_magnet_id")), None)
    return page.render(
        "campaign_form.html",
        status=status,
        title="Edit campaign" if campaign else "New campaign",
        campaign=campaign,
        values=values,
        errors=errors or {},
        previews=previews(values, magnet["name"] if magnet else None),
        variables=VARIABLES,
        weekdays=WEEKDAYS,
        **choices,
    )


def _values_of_row(row: dict[str, Any]) -> dict[str, Any]:
    settings = row.get("settings") or {}
    hours = settings.get("working_hours") or {}
    return {
        "name": row["name"],
        "description": row.get("description") or "",
        "trigger_words": ", ".join(service.trigger_words_of(row)),
        "lead_magnet_id": str(row["lead_magnet_id"] or ""),
        "webhook_config_id": str(row["webhook_config_id"] or ""),
        **{f: row.get(f) or "" for f in TEMPLATE_FIELDS},
        "start_hour": str(hours.get("start_hour", "")),
        "end_hour": str(hours.get("end_hour", "")),
        "days": hours.get("days") or [],
        "email_review_threshold": str(settings.get("email_review_threshold", "")),
        "fuzzy_triggers": bool(settings.get("fuzzy_triggers")),
        "post_account_id": "",
        "post_content": "",
        "magnet_name": "",
    }


@router.get("/campaigns")
async def campaign_list(page: PageDep, status: str | None = None) -> HTMLResponse:
    page.require("campaigns.read")
    chosen = status if status in service.TRANSITIONS else None
    async with page.tx() as conn:
        rows, _ = await repo.page(conn, cursor=None, limit=200, status=chosen, client_id=page.client_id)
    return page.render(
        "campaigns.html", title="Campaigns", campaigns=[service.view(r) for r in rows], chosen=chosen,
        statuses=list(service.TRANSITIONS), can_write=forms.can(page.ctx.claims, "campaigns.write"),
    )  # fmt: skip


@router.get("/campaigns/new")
async def new_campaign(page: PageDep) -> HTMLResponse:
    page.require("campaigns.write")
    values = _values_of_row(
        {"name": "", "lead_magnet_id": None, "webhook_config_id": None, "trigger_word": ""}
    )
    values["trigger_words"] = ""
    return await _form_page(page, values=values, campaign=None)


@router.post("/campaigns/preview")
async def preview(page: PageDep) -> HTMLResponse:
    """The htmx fragment under the templates: each step rendered for a sample lead, errors inline."""
    page.require("campaigns.read")
    values = _values_of(await page.form())
    magnet_name = None
    if values["lead_magnet_id"]:
        try:
            async with page.tx() as conn:
                magnet_name = (await magnets.get_magnet(conn, UUID(values["lead_magnet_id"])))["name"]
        except (ValueError, RevosError):
            magnet_name = None
    return page.render("campaign_preview.html", previews=previews(values, magnet_name))


async def _save(page: Page, campaign: dict[str, Any] | None) -> Response:
    settings = page.runtime.settings
    declared = page.request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.magnet_max_bytes + FORM_OVERHEAD:
        raise magnets.too_large(settings)
    form = await page.form()
    values = _values_of(form)
    stored: tuple[str, str, str] | None = None
    try:
        stored = await _upload(page, form, values)
        magnet_id = stored[0] if stored else values["lead_magnet_id"]
        fields = _fields(values, magnet_id)
        current = (campaign or {}).get("settings") or {}
        fields["settings"] = _settings(values, current)
        async with page.tx() as conn:
            if campaign is None:
                body = schemas.CampaignCreate.model_validate(fields)
                row = await service.create_campaign(
                    conn, client_id=page.client_id, body=body, settings=settings
                )
                if values["post_account_id"]:
                    await posts.create_post(
                        conn,
                        post_schemas.PostCreate(
                            campaign_id=row["id"],
                            linkedin_account_id=UUID(values["post_account_id"]),
                            content=values["post_content"] or None,
                        ),
                    )
            else:
                update = schemas.CampaignUpdate.model_validate(fields)
                row = await service.update_campaign(conn, campaign["id"], update, settings=settings)
    except ValidationError as exc:
        errors = forms.field_errors(exc)
    except RevosError as exc:
        errors = _template_errors(exc) or {"": exc.message}
    except ValueError:
        errors = {"post_account_id": "choose a LinkedIn account"}
    else:
        await form.close()
        done = "saved" if campaign else "created as a draft"
        return page.redirect(f"/app/campaigns/{row['id']}", flash=f"Campaign {row['name']} {done}.")
    await form.close()
    if stored:  # the campaign was not saved: keep the uploaded magnet selected for the next try
        values["lead_magnet_id"] = stored[0]
    return await _form_page(page, values=values, campaign=campaign, errors=errors, status=422)


@router.post("/campaigns")
async def create(page: PageDep) -> Response:
    page.require("campaigns.write")
    return await _save(page, None)


@router.get("/campaigns/{campaign_id}")
async def detail(page: PageDep, campaign_id: UUID) -> HTMLResponse:
    page.require("campaigns.read")
    async with page.tx() as conn:
        row = await service.get_campaign(conn, campaign_id)
        post_rows, _ = await posts_repo.page(
            conn, cursor=None, limit=50, campaign_id=campaign_id, status=None
        )
        accounts, _ = await accounts_repo.page(conn, cursor=None, limit=200)
        magnet = await magnets.get_magnet(conn, row["lead_magnet_id"]) if row["lead_magnet_id"] else None
        hook = (
            await webhooks_repo.get_config(conn, row["webhook_config_id"])
            if row["webhook_config_id"]
            else None
        )
    return page.render(
        "campaign.html",
        title=row["name"],
        campaign=service.view(row),
        posts=[posts.view(p) for p in post_rows],
        accounts=accounts,
        magnet=magnet,
        hook=hook,
        actions=[a for a, target in ACTIONS.items() if target in service.TRANSITIONS[row["status"]]],
        can_write=forms.can(page.ctx.claims, "campaigns.write"),
        previews=previews(dict(row), magnet["name"] if magnet else None),
    )


@router.get("/campaigns/{campaign_id}/edit")
async def edit(page: PageDep, campaign_id: UUID) -> HTMLResponse:
    page.require("campaigns.write")
    async with page.tx() as conn:
        row = await service.get_campaign(conn, campaign_id)
    return await _form_page(page, values=_values_of_row(row), campaign=row)


@router.post("/campaigns/{campaign_id}")
async def update(page: PageDep, campaign_id: UUID) -> Response:
    page.require("campaigns.write")
    async with page.tx() as conn:
        row = await service.get_campaign(conn, campaign_id)
    return await _save(page, row)


@router.post("/campaigns/{campaign_id}/{action}")
async def move(page: PageDep, campaign_id: UUID, action: str) -> Response:
    page.require("campaigns.write")
    target = ACTIONS.get(action)
    if target is None:
        raise ValidationFailed(f"unknown action {action!r}")
    back = f"/app/campaigns/{campaign_id}"
    try:
        async with page.tx() as conn:
            row = await service.transition(conn, campaign_id, target)
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    return page.redirect(back, flash=f"The campaign is {row['status']}.")


@router.post("/campaigns/{campaign_id}/posts")
async def post(page: PageDep, campaign_id: UUID) -> Response:
    """Write the campaign's post (or take a draft) and schedule it, or publish it now."""
    page.require("campaigns.write")
    back = f"/app/campaigns/{campaign_id}"
    try:
        when = forms.local_datetime(await page.field("scheduled_for"), "scheduled for")
        publish_now = await page.field("publish") == "now"
        post_id = await page.field("post_id")
        async with page.tx() as conn:
            if post_id:
                row = await posts.get_post(conn, UUID(post_id))
            else:
                body = post_schemas.PostCreate(
                    campaign_id=campaign_id,
                    linkedin_account_id=UUID(await page.field("linkedin_account_id")),
                    content=await page.field("content") or None,
                )
                row = await posts.create_post(conn, body)
            if publish_now:
                row = await posts.publish_now(conn, row["id"])
                await post_tasks.defer_publish(conn, row["id"], row["linkedin_account_id"])
            elif when is not None:
                row = await posts.schedule(conn, row["id"], when)
    except ValidationError as exc:
        return page.redirect(back, error=forms.refusal(exc))
    except ValueError:
        return page.redirect(back, error="Choose a LinkedIn account.")
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    said = {"publishing": "is being published", "scheduled": "is scheduled"}.get(row["status"], "is saved")
    return page.redirect(back, flash=f"The post {said}.")
