"""The demo's orchestration: simulator, API, worker and an ESP receiver in one asyncio loop; everything set
up through the HTTP API as a user would; members comment over a scaled clock; a reviewer approves emails and
some members click their download link; it stops when every lead is terminal (or at the timeout)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from revos.analytics import service as analytics_service
from revos.config import Settings
from revos.demo import dashboard as demo_dashboard
from revos.demo import funnel as funnel_db
from revos.demo import pods as demo_pods
from revos.demo import skills as demo_skills
from revos.demo import world as demo_world
from revos.demo.world import ACCOUNT_SAFETY, SIM_API_KEY, DemoClock, DemoOptions, Stage, check, open_stage
from revos.tenancy.bootstrap import DemoTenant

__all__ = ["DemoClock", "DemoOptions", "DemoResult", "demo_settings", "run_demo", "run_until_done"]

EVERY_SECOND = "* * * * * *"
_LINK = re.compile(r"https?://\S+/d/[A-Za-z0-9._~-]+")


@dataclass
class DemoResult:
    tenant: DemoTenant
    api_url: str
    funnel: dict[str, int]
    ground_truth: dict[str, int]
    elapsed: float
    finished: bool  # every lead terminal before the timeout
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.funnel == self.ground_truth and demo_pods.agrees(self.details.get("pod", {}))


def demo_settings(base: Settings, speed: float) -> Settings:
    """The deployment's settings, sped up for the demo: short cron periods, leases and timeouts kept in wall
    seconds, working hours all day, no warm-up, unaccepted invitations given up after a day."""
    wall = speed  # one wall second, in clock seconds
    return base.model_copy(
        update={
            "unipile_api_key": SecretStr(SIM_API_KEY),
            "clock_speed": speed,
            "webhook_allow_http_loopback": True,
            "cron_dms_dispatch": EVERY_SECOND,
            "cron_dms_abandon": EVERY_SECOND,
            "cron_dms_poll_replies": "* * * * * */5",
            "cron_inbound_sweep": EVERY_SECOND,
            "cron_webhook_dispatch": EVERY_SECOND,
            "cron_posts_publish_due": EVERY_SECOND,
            "cron_posts_poll_due": EVERY_SECOND,
            "cron_reset_daily_limits": "* * * * * */5",
            "worker_poll_interval_seconds": 0.5,
            "worker_concurrency": 8,
            "dm_invitation_expire_days": 1.0,
            "dm_invitation_check_seconds": (4 * 3600),
            "safety_working_hours_enabled": False,
            "safety_warmup_days": 0,
            "action_inflight_timeout_seconds": 60 * wall,
            "action_reconcile_delay_seconds": 0.5 * wall,
            "webhook_claim_lease_seconds": int(60 * wall),
            "post_publish_lease_seconds": 60 * wall,
            "poll_lease_seconds": 60 * wall,
            # A pod activity claimed by one executor lane stays its own while LinkedIn answers: in clock
            # seconds, the default lease would expire in wall milliseconds and let another lane take it.
            "pods_lease_seconds": 60 * wall,
            "inbound_sweep_after_seconds": 10 * wall,
            "poll_fresh_seconds": 120.0,
        }
    )


async def run_demo(
    base_settings: Settings,
    options: DemoOptions,
    *,
    console: Console | None = None,
    on_ready: Callable[[DemoTenant, str], None] | None = None,
    on_done: Callable[[DemoResult], None] | None = None,
) -> DemoResult:
    """Run the whole pipeline once; the database must be migrated. Restores the process clock afterwards."""
    console = console or Console(stderr=True)
    settings = demo_settings(base_settings, options.speed)
    async with open_stage(settings, options, DemoClock(options.speed)) as stage:
        stage.start_worker("revos-demo-worker")
        if on_ready is not None:
            on_ready(stage.tenant, stage.api_url)
        email, password = await demo_dashboard.login(stage.runtime, stage.tenant.user_id)
        for line in demo_dashboard.lines(stage.api_url, email, password):
            print(line, flush=True)  # plain print: one line each, to be copied whatever the terminal width
        started = time.monotonic()
        pod = demo_pods.add_members(stage.sim, options.pod_members) if options.pod_members else None

        async def set_up_pod(ids: dict[str, UUID], run: str) -> None:
            assert pod is not None
            await demo_pods.set_up(
                stage.api,
                pod,
                owner_account_id=ids["account"],
                owner_user_id=stage.tenant.user_id,
                run=run,
                safety=ACCOUNT_SAFETY,
            )
            console.print(f"engagement pod: the owner and {len(pod.logins)} members, set up through the API")

        try:
            async with demo_pods.executor(stage.runtime):
                await stage.set_up(console, set_up_pod if pod is not None else None)
                finished, details = await run_until_done(stage, options, console)
                if pod is not None and not await demo_pods.wait_settled(stage.api, pod, within=30):
                    finished = False
            measured, truth = await stage.measure(details["clicked"])
            if pod is not None:
                owner_posts = stage.sim.posts(stage.world.login)
                details["pod"] = await demo_pods.summary(stage.api, stage.sim, pod, post=owner_posts[-1])
            details["clicked"] = sorted(details["clicked"])
            details["repeats"] = demo_world.repeats(stage.world)
            details["receiver_rejected"] = stage.receiver.rejected
            details["skills"] = await demo_skills.runs(stage.api, stage.ids["campaign"])
            result = DemoResult(
                stage.tenant, stage.api_url, measured, truth, time.monotonic() - started, finished, details
            )
            if on_done is not None:
                on_done(result)
            if options.keep_running:
                await analytics_service.refresh(stage.runtime.db)  # the overview's funnel, at once
                console.print(
                    f"still serving on {stage.api_url}: the dashboard at {stage.api_url}/app/ as {email}"
                    " (Ctrl-C to stop)"
                )
                await asyncio.Event().wait()
        finally:
            # Retired with the owner's account when the demo ends (Stage.wind_down).
            if pod is not None:
                await demo_pods.retire(stage.runtime, pod)
        return result


async def run_until_done(stage: Stage, options: DemoOptions, console: Console) -> tuple[bool, dict[str, Any]]:
    """Review, click and watch, until the world has nothing more to do or `options.timeout` has passed;
    returns whether it finished and what the reviewer and the clickers did (and, if not, what is stuck)."""
    api, runtime, world, receiver, ids = stage.api, stage.runtime, stage.world, stage.receiver, stage.ids
    sim = world.sim
    total_comments = demo_world.expected_comments(world)
    total_leads = demo_world.expected_leads(world)
    clicked: set[str] = set()
    expired: set[str] = set()
    approved = 0
    deadline = time.monotonic() + options.timeout
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not options.show_progress,
        transient=False,
    )
    with progress:
        bar_comments = progress.add_task("comments", total=total_comments)
        bar_leads = progress.add_task("leads done", total=total_leads)
        bar_hooks = progress.add_task("leads at the ESP", total=None)
        bar_clicks = progress.add_task("download clicks", total=None)
        finished = False
        while time.monotonic() < deadline:
            approved += await _review(api, ids["campaign"])
            clickable = await _click(api, world, clicked, expired)
            async with runtime.db.raw() as conn:
                state = await funnel_db.progress(conn, campaign_id=ids["campaign"])
                seen = await funnel_db.funnel(conn, campaign_id=ids["campaign"], post_id=ids["post"])
            made = len(sim.ground_truth(kind="comment"))
            progress.update(bar_comments, completed=made)
            progress.update(bar_leads, completed=state.terminal, total=max(total_leads, state.leads))
            progress.update(bar_hooks, completed=len(receiver.leads), total=seen["emails"] or None)
            progress.update(bar_clicks, completed=len(clicked), total=clickable or None)
            # Done when the world has nothing more to do, whatever the time: a lead is terminal once its
            # backup DM is out, which may be before its delivery to the ESP has gone through.
            if (
                made == total_comments
                and seen["comments"] == total_comments + demo_world.engagement_comments(world)
                and state.leads == total_leads
                and state.terminal == state.leads
                and state.in_review == 0
                and len(clicked) + len(expired) == clickable
                and seen["webhooks"] >= seen["emails"]
                and len(receiver.leads) >= seen["webhooks"]
            ):
                finished = True
                break
            await asyncio.sleep(0.25)
    details: dict[str, Any] = {"clicked": clicked, "approved": approved, "expired_links": sorted(expired)}
    if not finished:
        console.print(f"[yellow]timed out after {options.timeout:.0f} s with leads still in flight[/yellow]")
        async with runtime.db.raw() as conn:
            details["stuck"] = await funnel_db.stuck(conn, campaign_id=ids["campaign"])
            details["jobs"] = await funnel_db.queue_state(conn)
        for line in details["jobs"]:
            console.print(f"  {line}")
        for line in details["stuck"]:
            console.print(f"  {line}")
    return finished, details


async def _review(api: httpx.AsyncClient, campaign_id: UUID) -> int:
    """The demo reviewer: accepts every email waiting in the review queue as read."""
    queue = check(await api.get("/v1/leads/review", params={"campaign_id": str(campaign_id)}), "review queue")
    done = 0
    for lead in queue.get("items", []):
        response = await api.post(f"/v1/leads/{lead['id']}/review/approve", json={})
        if response.status_code == 200:
            done += 1
    return done


async def _click(
    api: httpx.AsyncClient, world: demo_world.DemoWorld, clicked: set[str], expired: set[str]
) -> int:
    """Clickers open the link of the backup DM (step 3) the simulator recorded; returns how many clickers
    have such a link so far. A link already expired when its clicker gets to it (the clock runs on while
    a slow machine catches up) goes to `expired`: they tried, nobody downloaded, and nobody will."""
    available = 0
    for provider_id in sorted(world.clickers):
        links = [
            match.group(0)
            for msg in world.sim.sent_messages(to=provider_id)
            for match in [_LINK.search(msg.text or "")]
            if match
        ]
        if not links:
            continue
        available += 1
        if provider_id in clicked or provider_id in expired:
            continue
        path = "/" + links[-1].split("://", 1)[1].split("/", 1)[1]
        response = await api.get(path, follow_redirects=False)
        if response.status_code < 400:
            clicked.add(provider_id)
        elif response.status_code == 410:
            expired.add(provider_id)
    return available
