"""Engagement pods (list, create, members, activities, comment approvals, a member's manual tasks), voice
cartridges (list, and the resolved view with each field's origin) and campaign skills (run, the execution
log, the approval queue of `human` runs). The calls of /v1/pods, /v1/cartridges and the skills routes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from revos.accounts import repo as accounts_repo
from revos.campaigns import repo as campaigns_repo
from revos.cartridges import repo as cartridges_repo
from revos.cartridges import service as cartridges
from revos.clock import utcnow
from revos.errors import Forbidden, NotFound, RevosError
from revos.pods import comments, manual
from revos.pods import repo as pods_repo
from revos.pods import schemas as pod_schemas
from revos.pods import service as pods
from revos.skills import schemas as skill_schemas
from revos.skills import service as skills
from revos.tenancy import service as tenancy
from revos.web import forms
from revos.web.deps import PageDep
from revos.web.pages import page_router

router = page_router()


# --- pods ------------------------------------------------------------------------------------------------------


@router.get("/pods")
async def pod_list(page: PageDep) -> HTMLResponse:
    page.require("campaigns.read")
    async with page.tx() as conn:
        rows, _ = await pods_repo.page_pods(conn, cursor=None, limit=200, status=None)
    return page.render(
        "pods.html", title="Pods", pods=[pods.view_pod(r) for r in rows],
        can_write=forms.can(page.ctx.claims, "campaigns.write"),
    )  # fmt: skip


@router.post("/pods")
async def create_pod(page: PageDep) -> Response:
    page.require("campaigns.write")
    try:
        body = pod_schemas.PodCreate(
            name=await page.field("name"),
            description=await page.field("description") or None,
            min_members=int(await page.field("min_members") or 9),
        )
        async with page.tx() as conn:
            row = await pods.create_pod(conn, client_id=page.client_id, body=body)
    except ValidationError as exc:
        return page.redirect("/app/pods", error=forms.refusal(exc))
    except ValueError:
        return page.redirect("/app/pods", error="min_members: a whole number")
    except RevosError as exc:
        return page.redirect("/app/pods", error=exc.message)
    return page.redirect(f"/app/pods/{row['id']}", flash=f"Pod {row['name']} created.")


@router.get("/pods/{pod_id}")
async def pod(page: PageDep, pod_id: UUID) -> HTMLResponse:
    page.require("campaigns.read")
    async with page.tx() as conn:
        row = await pods.get_pod(conn, pod_id)
        members = await pods_repo.members(conn, pod_id, status=None)
        activities, _ = await pods_repo.page_activities(
            conn, pod_id, cursor=None, limit=50, status=None, member_id=None, pod_post_id=None
        )
        mine = await pods.member_of_user(conn, pod_id, page.ctx.user_in(row["client_id"]))
        tasks = await manual.tasks_for(conn, mine["id"], utcnow()) if mine else []
        users, _ = await tenancy.list_users(conn, limit=200)
        accounts, _ = await accounts_repo.page(conn, cursor=None, limit=200)
    return page.render(
        "pod.html", title=row["name"], pod=pods.view_pod(row), members=[pods.view_member(m) for m in members],
        activities=[pods.view_activity(a) for a in activities], tasks=tasks, users=users, accounts=accounts,
        can_write=forms.can(page.ctx.claims, "campaigns.write"),
        emails={u["id"]: u["email"] for u in users}, account_names={a["id"]: a["account_name"] for a in accounts},
    )  # fmt: skip


@router.post("/pods/{pod_id}/members")
async def add_member(page: PageDep, pod_id: UUID) -> Response:
    page.require("campaigns.write")
    back = f"/app/pods/{pod_id}"
    try:
        body = pod_schemas.MemberCreate.model_validate(
            {
                "user_id": await page.field("user_id"),
                "linkedin_account_id": await page.field("linkedin_account_id"),
            }
        )
        async with page.tx() as conn:
            await pods.add_member(conn, pod_id, body)
    except ValidationError as exc:
        return page.redirect(back, error=forms.refusal(exc))
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    return page.redirect(back, flash="Member added.")


@router.post("/pods/{pod_id}/activities/{activity_id}/{decision}")
async def decide_activity(page: PageDep, pod_id: UUID, activity_id: UUID, decision: str) -> Response:
    """Approve (optionally edited) or reject a comment awaiting approval: a writer, or the member themselves."""
    back = f"/app/pods/{pod_id}"
    if decision not in ("approve", "reject"):
        raise NotFound("no such decision")
    try:
        async with page.tx() as conn:
            current = await pods.get_pod(conn, pod_id)
            row = await pods_repo.get_activity(conn, activity_id, for_update=True)
            if row is None or row["pod_id"] != pod_id:
                raise NotFound("pod activity not found")
            if not forms.can(page.ctx.claims, "campaigns.write"):
                page.require("campaigns.read")
                mine = await pods.member_of_user(conn, pod_id, page.ctx.user_in(current["client_id"]))
                if mine is None or mine["id"] != row["member_id"]:
                    raise Forbidden("only the member themselves, an admin or a manager may do this")
            user_id = page.ctx.user_in(row["client_id"])
            if decision == "approve":
                text = pod_schemas.Approve(text=await page.field("text") or None).text
                await comments.approve(conn, row, text=text, user_id=user_id)
            else:
                reason = pod_schemas.Reject(reason=await page.field("reason") or None).reason
                await comments.reject(conn, row, reason=reason, user_id=user_id)
    except ValidationError as exc:
        return page.redirect(back, error=forms.refusal(exc))
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    return page.redirect(back, flash="Comment approved." if decision == "approve" else "Comment rejected.")


# --- cartridges ---------------------------------------------------------------------------------------------------


@router.get("/cartridges")
async def cartridge_list(page: PageDep) -> HTMLResponse:
    page.require("cartridges.read")
    async with page.tx() as conn:
        rows, _ = await cartridges_repo.page(
            conn, cursor=None, limit=200, client_id=None, tier=None, user_id=None, skill=None, active=None
        )
    return page.render(
        "cartridges.html", title="Voice cartridges", cartridges=[cartridges.view(r) for r in rows]
    )


@router.get("/cartridges/{cartridge_id}")
async def cartridge(page: PageDep, cartridge_id: UUID) -> HTMLResponse:
    page.require("cartridges.read")
    async with page.tx() as conn:
        row = cartridges.view(await cartridges.get(conn, cartridge_id))
        resolved = cartridges.resolved_view(await cartridges.resolve(conn, cartridge_id))
    fields: list[dict[str, Any]] = []
    for part in ("voice", "knowledge"):
        for key, value in getattr(resolved, part).items():
            fields.append(
                {"name": f"{part}.{key}", "value": value, "origin": resolved.origins.get(f"{part}.{key}")}
            )
    return page.render("cartridge.html", title=row.name, cartridge=row, resolved=resolved, fields=fields)


# --- skills -------------------------------------------------------------------------------------------------------


@router.get("/skills")
async def skill_page(page: PageDep, campaign_id: UUID | None = None) -> HTMLResponse:
    page.require("campaigns.read")
    async with page.tx() as conn:
        campaigns, _ = await campaigns_repo.page(
            conn, cursor=None, limit=200, status=None, client_id=page.client_id
        )
        chosen = campaign_id or (campaigns[0]["id"] if campaigns else None)
        configured: list[skill_schemas.Skill] = []
        log: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        if chosen is not None:
            configured = await skills.skills_of(conn, chosen)
            log, _ = await skills.executions(
                conn, chosen, skill=None, success=None, review_status=None, cursor=None, limit=50
            )
            waiting, _ = await skills.executions(
                conn, chosen, skill=None, success=None, review_status="pending", cursor=None, limit=50
            )
    return page.render(
        "skills.html", title="Campaign skills", campaigns=campaigns, chosen=chosen, skills=configured,
        log=[skills.execution_view(r) for r in log], waiting=[skills.execution_view(r) for r in waiting],
        can_write=forms.can(page.ctx.claims, "campaigns.write"),
    )  # fmt: skip


@router.post("/skills/{campaign_id}/{name}/run")
async def run_skill(page: PageDep, campaign_id: UUID, name: str) -> Response:
    page.require("campaigns.write")
    back = f"/app/skills?campaign_id={campaign_id}"
    try:
        row = await skills.run(
            page.runtime, page.ctx.tx, campaign_id=campaign_id, skill=name, overrides=None,
            caller=page.ctx.user_id if page.ctx.user_client_id is not None else None,
        )  # fmt: skip
    except RevosError as exc:
        return page.redirect(back, error=exc.message)
    said = "waits for approval" if row.get("review_status") == "pending" else "ran"
    return page.redirect(back, flash=f"The {name} skill {said}.")


@router.post("/skills/executions/{execution_id}/{decision}")
async def decide_execution(page: PageDep, execution_id: UUID, decision: str) -> Response:
    page.require("campaigns.write")
    if decision not in ("approve", "reject"):
        raise NotFound("no such decision")
    try:
        async with page.tx() as conn:
            current = await skills.get_execution(conn, execution_id)
            back = f"/app/skills?campaign_id={current['campaign_id']}"
            reviewer = page.ctx.user_in(current["client_id"])
            if decision == "approve":
                body = skill_schemas.Approve(text=await page.field("text") or None)
                await skills.approve(page.runtime, conn, execution_id, body, reviewer=reviewer)
            else:
                reject = skill_schemas.Reject(
                    reason=await page.field("reason") or "rejected in the dashboard"
                )
                await skills.reject(conn, execution_id, reject, reviewer=reviewer)
    except ValidationError as exc:
        return page.redirect("/app/skills", error=forms.refusal(exc))
    except RevosError as exc:
        return page.redirect("/app/skills", error=exc.message)
    return page.redirect(back, flash="Approved." if decision == "approve" else "Rejected.")
