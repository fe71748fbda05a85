"""Every list endpoint pages through exactly the rows its caller may see, newest first, with each filter.

Pages are small (limit 3) so that every walk crosses several cursors, and several rows share one
created_at (a poll inserts a page of leads in one transaction) so the id breaks the ties.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from revos.clock import utcnow
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from tests.support import (
    Conn,
    make_agency,
    make_api_key,
    make_campaign,
    make_client,
    make_comment,
    make_dm_sequence,
    make_lead,
    make_lead_magnet,
    make_linkedin_account,
    make_post,
    make_user,
    make_webhook_config,
    make_webhook_delivery,
    superuser_conn,
)

STATUSES = ("comment_detected", "dm_sent", "dm_replied", "failed")


@dataclass
class Client:
    id: UUID
    admin: UUID
    campaigns: list[UUID] = field(default_factory=list)
    posts: list[UUID] = field(default_factory=list)
    configs: list[UUID] = field(default_factory=list)


@dataclass
class Agency:
    id: UUID
    clients: list[Client]
    stranger: Client  # a client of another agency


async def seed_client(owner: Conn, agency_id: UUID, leads: int, base: datetime) -> Client:
    """Two campaigns, their posts and comments, leads (every fourth pending a review), deliveries, and a
    few rows of each short list; every lead written with its client, as the pipeline writes it."""
    client_id = (await make_client(owner, agency_id=agency_id))["id"]
    client = Client(client_id, (await make_user(owner, client_id=client_id))["id"])
    await make_user(owner, client_id=client_id, role="member")
    for n in range(3):
        at = base + timedelta(minutes=n)
        await make_api_key(owner, client_id=client_id, name=f"key {n}", key_hash="0" * 64, created_at=at)
        tags = ["guide"] if n else ["other"]
        await make_lead_magnet(
            owner, client_id=client_id, name=f"magnet {n}", file_path="f", tags=tags, created_at=at
        )
    account = (await make_linkedin_account(owner, client_id=client_id, account_name="acc"))["id"]
    for n in range(2):
        config = await make_webhook_config(
            owner, client_id=client_id, name=f"esp {n}", url="https://esp.example/h"
        )
        client.configs.append(config["id"])
        campaign = await make_campaign(
            owner,
            client_id=client_id,
            name=f"campaign {n}",
            status="active" if n else "paused",
            created_at=base + timedelta(minutes=n),
        )
        client.campaigns.append(campaign["id"])
        for p in range(2):
            post = await make_post(
                owner,
                client_id=client_id,
                campaign_id=campaign["id"],
                linkedin_account_id=account,
                content="GUIDE",
                status="published" if p else "draft",
                created_at=base + timedelta(minutes=p),
            )
            client.posts.append(post["id"])
    for i in range(leads):
        # Three leads per instant: the id orders them.
        at = base + timedelta(seconds=i // 3)
        campaign_id, post_id = client.campaigns[i % 2], client.posts[(i % 2) * 2 + 1]
        comment = await make_comment(
            owner,
            client_id=client_id,
            post_id=post_id,
            author_name="M",
            author_linkedin_id=f"m{i}",
            content="hi",
            has_trigger_word=i % 3 != 0,
            created_at=at,
        )
        lead = await make_lead(
            owner,
            client_id=client_id,
            campaign_id=campaign_id,
            linkedin_id=f"m{i}",
            status=STATUSES[i % len(STATUSES)],
            comment_id=comment["id"],
            created_at=at,
        )
        review = i % 4 == 0
        sequence = await make_dm_sequence(
            owner,
            client_id=client_id,
            lead_id=lead["id"],
            campaign_id=campaign_id,
            review_status="pending" if review else None,
            email_extracted=f"m{i}@example.com" if review else None,
            email_confidence=0.5 if review else None,
            created_at=at,
        )
        await owner.execute(
            "update leads set dm_sequence_id = %s where id = %s", (sequence["id"], lead["id"])
        )
        await make_webhook_delivery(
            owner,
            client_id=client_id,
            webhook_config_id=client.configs[i % 2],
            lead_id=lead["id"],
            status="failed" if i % 3 else "success",
            created_at=at,
        )
    return client


@pytest.fixture(scope="module")
async def agency(owner: Conn) -> Agency:
    base = utcnow() - timedelta(days=1)
    agency_id = (await make_agency(owner))["id"]
    clients = [await seed_client(owner, agency_id, 17, base), await seed_client(owner, agency_id, 8, base)]
    return Agency(agency_id, clients, await seed_client(owner, (await make_agency(owner))["id"], 5, base))


def as_client(runtime: Runtime, client: Client) -> dict[str, str]:
    claims = Claims(sub=str(client.admin), client_id=client.id, user_role="admin")
    return {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}


def as_staff(runtime: Runtime, agency: Agency) -> dict[str, str]:
    # Staff are an admin of one of the agency's clients (a token acts with its user as they are now).
    claims = Claims(sub=str(agency.clients[0].admin), agency_id=agency.id, user_role="admin")
    return {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}


async def walk(api: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any) -> list[str]:
    """Every item id of a list, following next_cursor; fails on a repeated cursor."""
    ids: list[str] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        response = await api.get(
            path, params={**params, "limit": 3, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 3
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
        assert cursor not in seen
        seen.add(cursor)


def newest_first(db_url: str, query: str, params: tuple[Any, ...]) -> list[str]:
    """The truth, read as the owner: ids in (created_at desc, id desc) order."""
    with superuser_conn(db_url) as conn:
        rows = conn.execute(
            f"select id from ({query}) q order by created_at desc, id desc", params
        ).fetchall()
    return [str(r["id"]) for r in rows]


LEAD_FILTERS: dict[str, Callable[[Client], tuple[dict[str, str], str, tuple[Any, ...]]]] = {
    "all": lambda c: ({}, "select * from leads where client_id = %s", (c.id,)),
    "campaign": lambda c: (
        {"campaign_id": str(c.campaigns[1])},
        "select * from leads where campaign_id = %s",
        (c.campaigns[1],),
    ),
    "status": lambda c: (
        {"status": "dm_sent"},
        "select * from leads where client_id = %s and status = 'dm_sent'",
        (c.id,),
    ),
    "campaign-and-status": lambda c: (
        {"campaign_id": str(c.campaigns[0]), "status": "comment_detected"},
        "select * from leads where campaign_id = %s and status = 'comment_detected'",
        (c.campaigns[0],),
    ),
}


@pytest.mark.parametrize("name", list(LEAD_FILTERS))
async def test_leads_page_through_every_matching_lead_newest_first(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: Agency, name: str
) -> None:
    client = agency.clients[0]
    params, query, args = LEAD_FILTERS[name](client)
    expected = newest_first(db_url, query, args)
    assert len(expected) >= 4  # more than one page
    assert await walk(api, "/v1/leads", as_client(runtime, client), **params) == expected


async def test_a_lead_in_a_list_carries_its_sequence_summary(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: Agency
) -> None:
    client = agency.clients[1]
    items = (await api.get("/v1/leads", params={"limit": 200}, headers=as_client(runtime, client))).json()[
        "items"
    ]
    pending = [i for i in items if i["review_status"] == "pending"]
    assert pending
    assert all(i["email_extracted"] and i["sequence_status"] == "in_progress" for i in pending)


@pytest.mark.parametrize("by_campaign", [False, True], ids=["all", "campaign"])
async def test_review_queue_pages_through_every_pending_review(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: Agency, by_campaign: bool
) -> None:
    client = agency.clients[0]
    params = {"campaign_id": str(client.campaigns[0])} if by_campaign else {}
    with superuser_conn(db_url) as conn:
        rows = conn.execute(
            "select lead_id from dm_sequences where client_id = %s and review_status = 'pending'"
            " and (%s::uuid is null or campaign_id = %s) order by created_at desc, id desc",
            (client.id, params.get("campaign_id"), params.get("campaign_id")),
        ).fetchall()
    expected = [str(r["lead_id"]) for r in rows]
    assert len(expected) >= 2
    assert await walk(api, "/v1/leads/review", as_client(runtime, client), **params) == expected


async def test_agency_staff_page_through_every_client_of_their_agency_as_one_list(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: Agency
) -> None:
    staff = as_staff(runtime, agency)
    first, second = (c.id for c in agency.clients)
    expected = newest_first(db_url, "select * from leads where client_id = any(%s)", ([first, second],))
    assert await walk(api, "/v1/leads", staff) == expected
    with superuser_conn(db_url) as conn:
        rows = conn.execute(
            "select lead_id from dm_sequences where client_id = any(%s) and review_status = 'pending'"
            " order by created_at desc, id desc",
            ([first, second],),
        ).fetchall()
    assert await walk(api, "/v1/leads/review", staff) == [str(r["lead_id"]) for r in rows]
    only_second = newest_first(db_url, "select * from leads where client_id = %s", (second,))
    assert await walk(api, "/v1/leads", staff, client_id=str(second)) == only_second
    assert await walk(api, "/v1/leads", staff, client_id=str(agency.stranger.id)) == []


async def test_naming_another_client_lists_nothing(
    api: httpx.AsyncClient, runtime: Runtime, agency: Agency
) -> None:
    mine, theirs = agency.clients
    headers = as_client(runtime, mine)
    for path in ("/v1/leads", "/v1/leads/review", "/v1/campaigns", "/v1/lead-magnets"):
        assert await walk(api, path, headers, client_id=str(theirs.id)) == [], path


# Each list endpoint: (path, query params, the truth as SQL) for one client.
OTHER_LISTS: dict[str, Callable[[Client], tuple[str, dict[str, str], str, tuple[Any, ...]]]] = {
    "campaigns": lambda c: ("/v1/campaigns", {}, "select * from campaigns where client_id = %s", (c.id,)),
    "campaigns-status": lambda c: (
        "/v1/campaigns",
        {"status": "active"},
        "select * from campaigns where client_id = %s and status = 'active'",
        (c.id,),
    ),
    "posts": lambda c: ("/v1/posts", {}, "select * from posts where client_id = %s", (c.id,)),
    "posts-campaign": lambda c: (
        "/v1/posts",
        {"campaign_id": str(c.campaigns[0])},
        "select * from posts where campaign_id = %s",
        (c.campaigns[0],),
    ),
    "posts-status": lambda c: (
        "/v1/posts",
        {"status": "published"},
        "select * from posts where client_id = %s and status = 'published'",
        (c.id,),
    ),
    "comments": lambda c: (
        f"/v1/posts/{c.posts[1]}/comments",
        {},
        "select * from comments where post_id = %s",
        (c.posts[1],),
    ),
    "comments-trigger-only": lambda c: (
        f"/v1/posts/{c.posts[1]}/comments",
        {"trigger_only": "true"},
        "select * from comments where post_id = %s and has_trigger_word",
        (c.posts[1],),
    ),
    "webhook-configs": lambda c: (
        "/v1/webhooks/configs",
        {},
        "select * from webhook_configs where client_id = %s",
        (c.id,),
    ),
    "deliveries": lambda c: (
        f"/v1/webhooks/configs/{c.configs[0]}/deliveries",
        {},
        "select * from webhook_deliveries where webhook_config_id = %s",
        (c.configs[0],),
    ),
    "deliveries-status": lambda c: (
        f"/v1/webhooks/configs/{c.configs[0]}/deliveries",
        {"status": "failed"},
        "select * from webhook_deliveries where webhook_config_id = %s and status = 'failed'",
        (c.configs[0],),
    ),
    "users": lambda c: ("/v1/users", {}, "select * from users where client_id = %s", (c.id,)),
    "api-keys": lambda c: ("/v1/api-keys", {}, "select * from api_keys where client_id = %s", (c.id,)),
    "linkedin-accounts": lambda c: (
        "/v1/linkedin-accounts",
        {},
        "select * from linkedin_accounts where client_id = %s",
        (c.id,),
    ),
    "lead-magnets": lambda c: (
        "/v1/lead-magnets",
        {},
        "select * from lead_magnets where client_id = %s",
        (c.id,),
    ),
    "lead-magnets-tag": lambda c: (
        "/v1/lead-magnets",
        {"tag": "GUIDE"},
        "select * from lead_magnets where client_id = %s and 'guide' = any(tags)",
        (c.id,),
    ),
}


@pytest.mark.parametrize("name", list(OTHER_LISTS))
async def test_every_list_pages_through_the_clients_rows(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: Agency, name: str
) -> None:
    client = agency.clients[0]
    path, params, query, args = OTHER_LISTS[name](client)
    expected = newest_first(db_url, query, args)
    assert expected
    assert await walk(api, path, as_client(runtime, client), **params) == expected


@pytest.mark.parametrize("path", ["/v1/users", "/v1/campaigns", "/v1/posts", "/v1/api-keys", "/v1/clients"])
async def test_agency_staff_lists_cover_their_clients_and_no_other(
    api: httpx.AsyncClient, runtime: Runtime, db_url: str, agency: Agency, path: str
) -> None:
    table = path.rsplit("/", 1)[1].replace("-", "_")
    column = "id" if table == "clients" else "client_id"
    ids = [c.id for c in agency.clients]
    expected = newest_first(db_url, f"select * from {table} where {column} = any(%s)", (ids,))
    assert await walk(api, path, as_staff(runtime, agency)) == expected
