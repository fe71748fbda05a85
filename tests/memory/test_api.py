"""/v1/memories as a user of the API: add, list, read, delete, and find by meaning, within one client."""

from __future__ import annotations

from typing import Any

import httpx

from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from tests.support import Conn, Tenant, make_tenant, make_user, read_rows, token_headers

MEMORIES = {
    "cold_email": "Our post on cold email templates brought 40 leads in one day",
    "hiring": "We are hiring a senior backend engineer for the platform team",
    "pricing": "Announcing the new pricing plans for small agencies",
    "webinar": "Join our webinar on LinkedIn lead generation next Tuesday",
}


async def add(api: httpx.AsyncClient, tenant: Tenant, content: str, **body: Any) -> dict[str, Any]:
    answer = await api.post(
        "/v1/memories",
        json={"memory_type": "successful_post", "content": content, **body},
        headers=tenant.headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def search(api: httpx.AsyncClient, tenant: Tenant, query: str, **body: Any) -> list[dict[str, Any]]:
    answer = await api.post("/v1/memories/search", json={"query": query, **body}, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_add_read_list_delete(api: httpx.AsyncClient, tenant: Tenant, db_url: str) -> None:
    made = await add(api, tenant, "  Numbers in the first line did well  ", metadata={"campaign": "q1"})
    assert made["content"] == "Numbers in the first line did well"
    assert made["client_id"] == str(tenant.client_id)
    assert made["user_id"] is None
    assert made["metadata"] == {"campaign": "q1"}
    assert made["embedding_model"] == "wordllama/l2_supercat/256"
    assert "embedding" not in made
    rows = read_rows(db_url, "select vector_dims(embedding) as dims, embedding_model from memories where id = %s",
                     made["id"])  # fmt: skip
    assert rows == [{"dims": 1536, "embedding_model": "wordllama/l2_supercat/256"}]

    assert (await api.get(f"/v1/memories/{made['id']}", headers=tenant.headers)).json() == made
    listed = (await api.get("/v1/memories", headers=tenant.headers)).json()
    assert listed["items"] == [made]

    assert (await api.delete(f"/v1/memories/{made['id']}", headers=tenant.headers)).status_code == 204
    assert (await api.get(f"/v1/memories/{made['id']}", headers=tenant.headers)).status_code == 404
    assert (await api.delete(f"/v1/memories/{made['id']}", headers=tenant.headers)).status_code == 404


async def test_search_finds_the_memory_by_meaning(api: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = {name: (await add(api, tenant, text))["id"] for name, text in MEMORIES.items()}
    hits = await search(api, tenant, "which cold outreach email post produced leads?", k=2)
    assert hits[0]["id"] == ids["cold_email"]
    assert len(hits) == 2
    assert hits[0]["score"] > hits[1]["score"]
    assert -1 <= hits[1]["score"] <= hits[0]["score"] <= 1

    [job] = await search(api, tenant, "open position for a software engineer", k=1)
    assert job["id"] == ids["hiring"]
    # A threshold drops what is not similar enough, even within k.
    close = await search(api, tenant, MEMORIES["pricing"], k=4, threshold=0.99)
    assert [h["id"] for h in close] == [ids["pricing"]]
    assert close[0]["score"] > 0.99


async def test_search_filters_by_user_and_type(
    api: httpx.AsyncClient, tenant: Tenant, owner: Conn, runtime: Runtime
) -> None:
    other_user = await make_user(owner, client_id=tenant.client_id)
    mine = await add(api, tenant, "Short hooks with a question work", user_id=str(tenant.user_id))
    theirs = await add(api, tenant, "Short hooks with a question work well", user_id=str(other_user["id"]))
    pattern = await add(api, tenant, "Short hooks with a question convert", memory_type="conversion_pattern")

    hits = await search(api, tenant, "question hooks", user_id=str(tenant.user_id))
    assert [h["id"] for h in hits] == [mine["id"]]
    hits = await search(api, tenant, "question hooks", memory_type="conversion_pattern")
    assert [h["id"] for h in hits] == [pattern["id"]]
    assert {h["id"] for h in await search(api, tenant, "question hooks")} == {
        mine["id"], theirs["id"], pattern["id"]}  # fmt: skip

    listed = await api.get(
        "/v1/memories", params={"memory_type": "conversion_pattern"}, headers=tenant.headers
    )
    assert [m["id"] for m in listed.json()["items"]] == [pattern["id"]]
    listed = await api.get("/v1/memories", params={"user_id": str(other_user["id"])}, headers=tenant.headers)
    assert [m["id"] for m in listed.json()["items"]] == [theirs["id"]]


async def test_lists_page_newest_first(api: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [(await add(api, tenant, f"memory number {i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/memories", params=params, headers=tenant.headers)).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made[::-1]


async def test_another_clients_memories_are_out_of_reach(
    api: httpx.AsyncClient, tenant: Tenant, owner: Conn, runtime: Runtime
) -> None:
    other = await make_tenant(owner, runtime)
    secret = await add(api, other, MEMORIES["cold_email"])
    await add(api, tenant, MEMORIES["hiring"])

    hits = await search(api, tenant, MEMORIES["cold_email"], k=100, threshold=-1)
    assert secret["id"] not in {h["id"] for h in hits}
    assert {h["client_id"] for h in hits} == {str(tenant.client_id)}
    assert (await api.get(f"/v1/memories/{secret['id']}", headers=tenant.headers)).status_code == 404
    assert (await api.delete(f"/v1/memories/{secret['id']}", headers=tenant.headers)).status_code == 404
    listed = (await api.get("/v1/memories", params={"limit": 200}, headers=tenant.headers)).json()["items"]
    assert secret["id"] not in {m["id"] for m in listed}
    # Naming the other client changes nothing; naming its user is refused by the database.
    answer = await api.post(
        "/v1/memories/search",
        json={"query": "cold email", "client_id": str(other.client_id)},
        headers=tenant.headers,
    )
    assert answer.status_code == 404
    answer = await api.post(
        "/v1/memories",
        json={"memory_type": "note", "content": "x", "user_id": str(other.user_id)},
        headers=tenant.headers,
    )
    assert answer.status_code in (404, 409, 422)
    assert answer.json()["error"]


async def test_agency_staff_name_the_client(api: httpx.AsyncClient, owner: Conn, runtime: Runtime) -> None:
    tenant = await make_tenant(owner, runtime)
    # Staff are an admin of one of the agency's clients, with an agency token.
    claims = Claims(sub=str(tenant.user_id), agency_id=tenant.agency_id, user_role="admin")
    agency = {"Authorization": f"Bearer {issue(claims, runtime.jwt_secret)}"}
    answer = await api.post(
        "/v1/memories", json={"memory_type": "note", "content": "agency note"}, headers=agency
    )
    assert answer.status_code == 422
    assert "client_id" in answer.text
    answer = await api.post(
        "/v1/memories",
        json={"memory_type": "note", "content": "agency note", "client_id": str(tenant.client_id)},
        headers=agency,
    )
    assert answer.status_code == 201
    assert answer.json()["client_id"] == str(tenant.client_id)
    answer = await api.post(
        "/v1/memories/search",
        json={"query": "agency note", "client_id": str(tenant.client_id)},
        headers=agency,
    )
    assert [h["content"] for h in answer.json()["items"]] == ["agency note"]


async def test_bad_input_is_refused_and_nothing_is_written(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    limit = runtime.settings.memory_content_max_chars
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/v1/memories", {"memory_type": "note", "content": "x" * (limit + 1)}, "at most"),
        ("/v1/memories", {"memory_type": "note", "content": "   "}, "content"),
        ("/v1/memories", {"memory_type": "Not A Type", "content": "x"}, "memory_type"),
        (
            "/v1/memories",
            {"memory_type": "note", "content": "x", "metadata": {"auto_source": "post:1"}},
            "reserved",
        ),
        ("/v1/memories", {"memory_type": "note", "content": "x", "embedding": [1]}, "embedding"),
        ("/v1/memories/search", {"query": "x" * (limit + 1)}, "at most"),
        ("/v1/memories/search", {"query": "x", "k": 0}, "k"),
        ("/v1/memories/search", {"query": "x", "k": 101}, "k"),
        ("/v1/memories/search", {"query": "x", "threshold": 1.5}, "threshold"),
    ]
    for path, body, why in cases:
        answer = await api.post(path, json=body, headers=tenant.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert why in answer.text, (body, answer.text)
    listed = (await api.get("/v1/memories", headers=tenant.headers)).json()
    assert listed["items"] == []


async def test_members_read_and_search_but_do_not_write(
    api: httpx.AsyncClient, tenant: Tenant, runtime: Runtime
) -> None:
    made = await add(api, tenant, "Carousel posts beat single images")
    member = token_headers(runtime, tenant.user_id, tenant.client_id, "member")
    assert (await api.get("/v1/memories", headers=member)).status_code == 200
    assert (
        await api.post("/v1/memories/search", json={"query": "carousel"}, headers=member)
    ).status_code == 200
    answer = await api.post("/v1/memories", json={"memory_type": "note", "content": "x"}, headers=member)
    assert answer.status_code == 403
    assert (await api.delete(f"/v1/memories/{made['id']}", headers=member)).status_code == 403
