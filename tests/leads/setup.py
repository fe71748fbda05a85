"""Plain functions that build a campaign ready to capture leads: tenant, lead magnet, LinkedIn account,
campaign, published post, comments. Rows are written as the owner, the way an operator sets things up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from tests.factories import Tenant, make_tenant
from tests.support import superuser_conn


@dataclass
class Scene:
    client_id: UUID
    admin_id: UUID
    account_id: UUID
    unipile_account_id: str | None
    lead_magnet_id: UUID
    campaign_id: UUID
    post_id: UUID


def make_scene(
    db_url: str,
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
    tenant = tenant or make_tenant(db_url)
    with superuser_conn(db_url) as conn:
        magnet = conn.execute(
            "insert into lead_magnets (client_id, name, file_path, file_type, file_size)"
            " values (%s, 'The Growth Guide', %s, 'application/pdf', 10) returning id",
            (tenant.client_id, file_path),
        ).fetchone()
        assert magnet is not None
        account = (
            {"id": account_id}
            if account_id
            else conn.execute(
                "insert into linkedin_accounts (client_id, user_id, account_name, linkedin_email,"
                " linkedin_password, unipile_account_id, profile_data, timezone)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s) returning id",
                (
                    tenant.client_id,
                    tenant.user_id,
                    f"acct-{uuid.uuid4().hex[:6]}",
                    b"x",
                    b"x",
                    unipile_account_id or f"ua-{uuid.uuid4().hex[:10]}",
                    Jsonb({"provider_id": owner_provider_id} if owner_provider_id else {}),
                    timezone,
                ),
            ).fetchone()
        )
        assert account is not None
        if webhook:
            conn.execute(
                "insert into webhook_configs (client_id, name, url, all_campaigns)"
                " values (%s, 'ESP', %s, true)",
                (tenant.client_id, "https://esp.example.com/hook"),
            )
        tpl = templates or {}
        campaign = conn.execute(
            "insert into campaigns (client_id, name, lead_magnet_id, trigger_word, trigger_words,"
            " dm_template_step1, dm_template_step2, dm_template_step3, settings, status, ends_at)"
            " values (%s, %s, %s, 'GUIDE', '{GUIDE}', %s, %s, %s, %s, %s, %s) returning id",
            (
                tenant.client_id,
                f"Campaign {uuid.uuid4().hex[:6]}",
                magnet["id"],
                tpl.get(1),
                tpl.get(2),
                tpl.get(3),
                Jsonb(settings or {}),
                campaign_status,
                ends_at,
            ),
        ).fetchone()
        assert campaign is not None
        post = conn.execute(
            "insert into posts (client_id, campaign_id, linkedin_account_id, content, status, published_at)"
            " values (%s, %s, %s, 'Comment GUIDE to get it', 'published', now()) returning id",
            (tenant.client_id, campaign["id"], account["id"]),
        ).fetchone()
        assert post is not None
    return Scene(
        tenant.client_id,
        tenant.user_id,
        account["id"],
        unipile_account_id,
        magnet["id"],
        campaign["id"],
        post["id"],
    )


def make_comment(
    db_url: str, scene: Scene, author_id: str, author_name: str = "Ada Lovelace", text: str = "GUIDE please"
) -> dict[str, Any]:
    with superuser_conn(db_url) as conn:
        row = conn.execute(
            "insert into comments (client_id, post_id, unipile_comment_id, author_name, author_linkedin_id,"
            " author_profile_url, content, has_trigger_word) values (%s, %s, %s, %s, %s, %s, %s, true)"
            " returning *",
            (
                scene.client_id,
                scene.post_id,
                f"c-{uuid.uuid4().hex[:12]}",
                author_name,
                author_id,
                f"https://www.linkedin.com/in/{author_id}/",
                text,
            ),
        ).fetchone()
    assert row is not None
    return row


def rows(db_url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with superuser_conn(db_url) as conn:
        return conn.execute(query, params).fetchall()


def campaign_and_post(db_url: str, scene: Scene) -> tuple[dict[str, Any], dict[str, Any]]:
    campaign = rows(db_url, "select * from campaigns where id = %s", scene.campaign_id)[0]
    post = rows(db_url, "select * from posts where id = %s", scene.post_id)[0]
    return campaign, post
