"""The demo's AI step, through the API as a user would: the owner's voice learned from their own LinkedIn
posts (a user cartridge with auto_generate), the campaign's post drafted in it by the copywriting skill
(the draft becomes the post the demo publishes), its deliverability checked; and, at the end, the skill
runs with their tokens and cost."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from rich.console import Console

TOPIC = "growing an audience on LinkedIn"


def _check(response: httpx.Response, what: str, *codes: int) -> dict[str, Any]:
    if response.status_code not in (codes or (200, 201)):
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


async def learn_voice(api: httpx.AsyncClient, *, user_id: UUID, account_id: str, run: str) -> dict[str, Any]:
    """The owner's user cartridge, its voice generated from the account's posts. The demo client keeps
    earlier runs: when the owner already has one, it learns again from this run's account."""
    body = {
        "tier": "user",
        "name": f"Demo Owner's voice ({run})",
        "user_id": str(user_id),
        "auto_generate": True,
        "linkedin_account_id": account_id,
    }
    response = await api.post("/v1/cartridges", json=body)
    if response.status_code == 409:
        existing = (response.json().get("info") or {}).get("active_cartridge_id")
        if existing:
            response = await api.post(
                f"/v1/cartridges/{existing}/generate", json={"linkedin_account_id": account_id}
            )
    return _check(response, "learn the owner's voice from their posts")


async def draft_post(
    api: httpx.AsyncClient, console: Console, *, campaign_id: str, account_id: str, user_id: UUID, run: str
) -> UUID:
    """The campaign's post, drafted by the copywriting skill in the learned voice; returns the post."""
    cartridge = await learn_voice(api, user_id=user_id, account_id=account_id, run=run)
    console.print(
        f"voice learned from {cartridge.get('source_posts_count', 0)} of the owner's posts "
        f"(cartridge {cartridge['id']}, version {cartridge.get('version')})"
    )
    skills = f"/v1/campaigns/{campaign_id}/skills"
    config = {"execution_mode": "ai", "config": {"topic": TOPIC, "variants": 2, "user_id": str(user_id)}}
    _check(await api.put(f"{skills}/copywriting", json=config), "configure the copywriting skill")
    run_input = {"input": {"apply": True, "linkedin_account_id": account_id}}
    drafted = _check(await api.post(f"{skills}/copywriting/run", json=run_input), "draft the post", 201)
    post_id = drafted.get("applied_post_id")
    if not post_id:
        raise RuntimeError(f"the copywriting skill made no post: {drafted.get('error_message')}")
    checked = _check(await api.post(f"{skills}/deliverability/run", json={}), "check deliverability", 201)
    console.print(
        f"post drafted by the copywriting skill ({len(drafted['output_data']['drafts'])} drafts, voice "
        f"{drafted['cartridge_id']} v{drafted['cartridge_version']}); deliverability "
        f"{checked['output_data']['score']}/100"
    )
    return UUID(post_id)


async def runs(api: httpx.AsyncClient, campaign_id: UUID) -> list[dict[str, Any]]:
    """The campaign's skill runs, oldest first: skill, success, provider, model, tokens, cost."""
    page = _check(await api.get(f"/v1/campaigns/{campaign_id}/skills/executions"), "read the skill runs")
    return [
        {
            "skill": e["skill_name"],
            "success": e["success"],
            "provider": e["provider"],
            "model": e["model"],
            "tokens": e["tokens_used"] or 0,
            "cost_usd": e["cost_usd"],
        }
        for e in reversed(page["items"])
    ]


def summary_lines(skill_runs: list[dict[str, Any]]) -> list[str]:
    """One line per run, and the total, for the end-of-run summary."""
    lines = [
        f"{r['skill']:<15} {'ok' if r['success'] else 'failed':<7} {r['provider']}/{r['model']}: "
        f"{r['tokens']:,} tokens, ${r['cost_usd']:.6f}"
        for r in skill_runs
    ]
    tokens = sum(r["tokens"] for r in skill_runs)
    cost = sum(r["cost_usd"] for r in skill_runs)
    lines.append(f"{len(skill_runs)} skill run(s): {tokens:,} tokens, ${cost:.6f}")
    return lines
