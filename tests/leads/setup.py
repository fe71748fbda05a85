"""Plain functions that build a campaign ready to capture leads: tenant, lead magnet, LinkedIn account,
campaign, published post, comments. Rows are written as the owner, the way an operator sets things up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tests.support import (
    Conn,
    Tenant,
    make_campaign,
    make_comment,
    make_lead_magnet,
    make_linkedin_account,
    make_post,
    make_tenant,
    make_webhook_config,
    read_row,
)


@dataclass
class Scene:
    client_id: UUID
    admin_id: UUID
    account_id: UUID
    unipile_account_id: str | None
    lead_magnet_id: UUID
    campaign_id: UUID
    post_id: UUID


async def make_scene(
    owner: Conn,
    *,
    unipile_account_id: str | None = None,
    owner_provider_id: str | None = None,
    campaign_status: str = "active",
    settings: dict[str, Any] | None = None,
    templates: dict[int, str] | None = None,
    file_path: str = "guide.pdf",
    timezone: str = "UTC",
    ends_at: datetime | None = None,
    tenant: Tenant | None = None,
    account_id: UUID | None = None,
    webhook: bool = False,
) -> Scene:
    tenant = tenant or await make_tenant(owner)
    magnet = await make_lead_magnet(owner, client_id=tenant.client_id, file_path=file_path)
    if account_id is None:
        account = await make_linkedin_account(
            owner,
            client_id=tenant.client_id,
            user_id=tenant.user_id,
            linkedin_email=b"x",
            linkedin_password=b"x",
            unipile_account_id=unipile_account_id or f"ua-{uuid.uuid4().hex[:10]}",
            profile_data={"provider_id": owner_provider_id} if owner_provider_id else {},
            timezone=timezone,
        )
        account_id = account["id"]
    if webhook:
        await make_webhook_config(owner, client_id=tenant.client_id, name="ESP", all_campaigns=True)
    tpl = templates or {}
    campaign = await make_campaign(
        owner,
        client_id=tenant.client_id,
        lead_magnet_id=magnet["id"],
        dm_template_step1=tpl.get(1),
        dm_template_step2=tpl.get(2),
        dm_template_step3=tpl.get(3),
        settings=settings or {},
        status=campaign_status,
        ends_at=ends_at,
    )
    post = await make_post(
        owner,
        client_id=tenant.client_id,
        campaign_id=campaign["id"],
        linkedin_account_id=account_id,
        content="Comment GUIDE to get it",
        status="published",
        published_at=datetime.now(UTC),  # the database's now(), not the test's clock
    )
    return Scene(
        tenant.client_id,
        tenant.user_id,
        account_id,
        unipile_account_id,
        magnet["id"],
        campaign["id"],
        post["id"],
    )


async def comment_on(
    owner: Conn, scene: Scene, author_id: str, author_name: str = "Ada Lovelace", text: str = "GUIDE please"
) -> dict[str, Any]:
    """A comment with the trigger word on the scene's post."""
    return await make_comment(
        owner,
        client_id=scene.client_id,
        post_id=scene.post_id,
        author_name=author_name,
        author_linkedin_id=author_id,
        content=text,
        has_trigger_word=True,
    )


def campaign_and_post(db_url: str, scene: Scene) -> tuple[dict[str, Any], dict[str, Any]]:
    campaign = read_row(db_url, "campaigns", scene.campaign_id)
    post = read_row(db_url, "posts", scene.post_id)
    return campaign, post
