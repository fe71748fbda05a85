"""The demo's engagement pod: nine simulated members who like and comment on the demo post from their own
LinkedIn accounts, set up through the API as a user would (a user and a connected account each, a pod
with the owner and them, activated), and the summary lines that compare what revOS recorded with what the
simulated LinkedIn saw.

The demo's clock runs an hour of LinkedIn time (or more) per wall second, so the defaults' like window of
30 minutes would be half a wall second, and a busy machine would close it before the executor came round.
The demo's pod therefore gives itself wider windows (likes within 4 hours, comments within 12), a setting
every pod has, and drives the pod executor (`revos.pods.execution.run_due`, the worker's periodic
`pods.execute`) every few wall milliseconds, as a deployment's cron does every few real seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from revos.runtime import Runtime
from revos.sim import Login, Post, Simulator

log = logging.getLogger("revos.demo")

POD_MEMBERS = 9
PASSWORD = "demo-pod-password"
LIKE_WINDOW_MINUTES = 240
COMMENT_WINDOW_MINUTES = 720
# Everyone else in the pod engages with the demo post (one post: the subset varies from post to post,
# not within one); about half of them also comment.
POD_SETTINGS: dict[str, Any] = {"engage_share": 1.0, "comment_share": 0.5, "min_delay_seconds": 60}
TICK_SECONDS = 0.02  # wall seconds between executor ticks (72 simulated seconds at an hour per second)
EXECUTOR_LANES = 4  # ticks running at once (they claim with skip locked), as several workers would
_NAMES = (
    ("Amara", "Okafor", "Head of Growth at Northwind"),
    ("Bjorn", "Larsen", "Founder, Fjord Analytics"),
    ("Chiara", "Rossi", "B2B content lead"),
    ("Deepak", "Nair", "RevOps consultant"),
    ("Elif", "Demir", "Demand generation at Tallyho"),
    ("Felix", "Wagner", "Sales coach"),
    ("Gabriela", "Souza", "Marketing director, Lumen"),
    ("Hana", "Sato", "Community builder"),
    ("Isaac", "Cohen", "Agency owner"),
)


@dataclass
class DemoPod:
    """The pod's members in the simulated LinkedIn, and what the set-up created in revOS."""

    logins: list[Login]
    pod_id: UUID | None = None
    member_ids: dict[str, UUID] = field(default_factory=dict)  # provider id -> pod member id
    account_ids: list[UUID] = field(default_factory=list)  # the members' LinkedIn accounts in revOS

    @property
    def provider_ids(self) -> set[str]:
        return {login.provider_id for login in self.logins}


def add_members(sim: Simulator, size: int = POD_MEMBERS) -> DemoPod:
    """`size` LinkedIn logins (no checkpoint) for the pod's members, connected through the API later."""
    logins = []
    for n in range(size):
        first, last, headline = _NAMES[n % len(_NAMES)]
        suffix = "" if n < len(_NAMES) else f" {n}"
        login = sim.add_account(
            username=f"{first.lower()}.{last.lower()}{n}@pod.demo.revos.dev",
            password=PASSWORD,
            name=f"{first} {last}{suffix}",
            headline=headline,
        )
        logins.append(login)
    return DemoPod(logins)


def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


async def set_up(
    api: httpx.AsyncClient,
    pod: DemoPod,
    *,
    owner_account_id: UUID,
    owner_user_id: UUID,
    run: str,
    safety: dict[str, Any],
) -> UUID:
    """Through the API: a user and a connected LinkedIn account per member, a pod named after the run with
    the owner (the demo post's author) and them, then activated. Returns the pod's id."""
    stamp = "".join(ch for ch in run if ch.isdigit())
    accounts: list[tuple[Login, str, str]] = []
    for n, login in enumerate(pod.logins):
        first, _, last = login.name.partition(" ")
        user = _ok(
            await api.post(
                "/v1/users",
                json={
                    "email": f"pod{n}.{stamp}@demo.revos.dev",
                    "first_name": first,
                    "last_name": last,
                    "role": "member",
                },
            ),
            f"create the user of pod member {login.name}",
        )
        account = _ok(
            await api.post(
                "/v1/linkedin-accounts",
                json={
                    "username": login.username,
                    "password": PASSWORD,
                    "account_name": f"{login.name} ({run})",
                    "safety": safety,
                },
            ),
            f"connect the LinkedIn account of {login.name}",
        )
        accounts.append((login, user["id"], account["id"]))
        pod.account_ids.append(UUID(account["id"]))
    created = _ok(
        await api.post(
            "/v1/pods",
            json={
                "name": f"Demo pod ({run})",
                "description": "nine people who engage with each other's posts",
                "min_members": POD_MEMBERS,
                "engagement_window_minutes": LIKE_WINDOW_MINUTES,
                "comment_window_minutes": COMMENT_WINDOW_MINUTES,
                "settings": POD_SETTINGS,
            },
        ),
        "create the pod",
    )
    pod_id = UUID(created["id"])
    owner = {"user_id": str(owner_user_id), "linkedin_account_id": str(owner_account_id), "role": "owner"}
    _ok(await api.post(f"/v1/pods/{pod_id}/members", json=owner), "add the owner to the pod")
    for login, user_id, account_id in accounts:
        member = _ok(
            await api.post(
                f"/v1/pods/{pod_id}/members", json={"user_id": user_id, "linkedin_account_id": account_id}
            ),
            f"add {login.name} to the pod",
        )
        pod.member_ids[login.provider_id] = UUID(member["id"])
    _ok(await api.patch(f"/v1/pods/{pod_id}", json={"status": "active"}), "activate the pod")
    pod.pod_id = pod_id
    return pod_id


async def retire(runtime: Runtime, pod: DemoPod) -> None:
    """The simulated LinkedIn ends with the demo: the members' accounts are paused (as the owner's is), so
    later runs and workers leave them alone."""
    from revos.accounts import safety

    for account_id in pod.account_ids:
        with contextlib.suppress(Exception):
            async with runtime.db.service(actor="demo") as conn:
                await safety.pause(conn, account_id, "the demo's simulated LinkedIn stopped with the demo")


@contextlib.asynccontextmanager
async def executor(runtime: Runtime) -> AsyncIterator[None]:
    """Run the pod executor (EXECUTOR_LANES ticks at a time, every TICK_SECONDS) while the block runs."""
    from revos.pods import execution

    async def loop() -> None:
        while True:
            try:
                await execution.run_due(runtime)
            except Exception:  # the next tick tries again; the worker's cron would too
                log.exception("pod executor tick failed")
            await asyncio.sleep(TICK_SECONDS)

    tasks = [asyncio.create_task(loop()) for _ in range(EXECUTOR_LANES)]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def activities(api: httpx.AsyncClient, pod_id: UUID) -> list[dict[str, Any]]:
    """Every activity of the pod, through the API."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = _ok(await api.get(f"/v1/pods/{pod_id}/activities", params=params), "read the pod's activities")
        out += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


async def pending(api: httpx.AsyncClient, pod: DemoPod) -> int:
    if pod.pod_id is None:
        return 0
    return sum(1 for a in await activities(api, pod.pod_id) if a["status"] == "pending")


async def summary(api: httpx.AsyncClient, sim: Simulator, pod: DemoPod, *, post: Post) -> dict[str, Any]:
    """The pod's work on the demo post: revOS's activities by kind and outcome, the simulator's record of
    the same members' likes and comments (and any made twice), how long after publication they came, and
    the members' participation scores."""
    if pod.pod_id is None:
        return {}
    rows = await activities(api, pod.pod_id)
    outcomes = Counter(f"{a['engagement_type']} {a['status']}" for a in rows)
    response = await api.get(f"/v1/pods/{pod.pod_id}/members")
    if response.status_code != 200:
        raise RuntimeError(f"read the pod's members: HTTP {response.status_code}: {response.text[:500]}")
    members: list[dict[str, Any]] = response.json()
    scores = [float(m["participation_score"]) for m in members]
    mine = [e for e in sim.engagements(post, through_api=True) if e.actor_id in pod.provider_ids]
    kinds = Counter(e.kind for e in mine)
    duplicates = sum(1 for key in sim.engagement_duplicates() if key[2] in pod.provider_ids)
    minutes: dict[str, list[float]] = {"like": [], "comment": []}
    for e in mine:
        kind = "like" if e.kind == "reaction" else e.kind
        if kind in minutes:
            minutes[kind].append((e.at - post.created_at).total_seconds() / 60)
    reasons = Counter(
        (a["error_message"] or "").split(":")[0] for a in rows if a["status"] in ("skipped", "failed")
    )
    return {
        "members": len(members),
        "revos": {
            "likes": outcomes["like completed"],
            "comments": outcomes["comment completed"],
            "skipped": sum(n for k, n in outcomes.items() if k.endswith(" skipped")),
            "failed": sum(n for k, n in outcomes.items() if k.endswith(" failed")),
            "pending": sum(n for k, n in outcomes.items() if k.endswith(" pending")),
        },
        "simulator": {"likes": kinds["reaction"], "comments": kinds["comment"]},
        "engagers": len({e.actor_id for e in mine}),
        "duplicates": duplicates,
        "minutes_after_post": {k: [round(min(v), 1), round(max(v), 1)] for k, v in minutes.items() if v},
        "participation": [round(min(scores), 2), round(max(scores), 2)] if scores else [],
        "skipped_because": dict(reasons.most_common(3)),
    }


def agrees(pod: dict[str, Any]) -> bool:
    """revOS's completed likes and comments are the simulator's, and nobody engaged twice."""
    if not pod:
        return True
    done, seen = pod["revos"], pod["simulator"]
    return (done["likes"], done["comments"]) == (seen["likes"], seen["comments"]) and pod["duplicates"] == 0


def summary_lines(pod: dict[str, Any]) -> list[str]:
    if not pod:
        return []
    done, seen = pod["revos"], pod["simulator"]
    lines = [
        f"{pod['members']} members, {pod['engagers']} engaged with the demo post: revOS {done['likes']} likes and"
        f" {done['comments']} comments completed ({done['skipped']} skipped, {done['failed']} failed);"
        f" simulator {seen['likes']} likes and {seen['comments']} comments; {pod['duplicates']} twice",
    ]
    spans = pod["minutes_after_post"]
    timing = ", ".join(
        f"{kind}s {lo:g}–{hi:g} min after the post (window {window})"
        for kind, window in (("like", LIKE_WINDOW_MINUTES), ("comment", COMMENT_WINDOW_MINUTES))
        if kind in spans
        for lo, hi in [spans[kind]]
    )
    if timing:
        lines.append(timing)
    if pod["participation"]:
        lo, hi = pod["participation"]
        lines.append(f"participation scores {lo:.2f}–{hi:.2f}")
    return lines


async def wait_settled(api: httpx.AsyncClient, pod: DemoPod, within: float) -> bool:
    """Until no activity of the pod is pending (True), or `within` wall seconds (False)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await pending(api, pod) == 0:
            return True
        await asyncio.sleep(0.1)
    return False
