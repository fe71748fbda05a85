"""Two pods sharing the author and a member: the member likes and comments on the post once."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from revos.clock import ManualClock
from revos.pods import repo as pods_repo
from revos.runtime import Runtime
from tests.pods.conftest import PodWorld
from tests.pods.test_engine import _activities, _publish, _run_until
from tests.support import read_rows, superuser_conn

SETTINGS = {"engage_share": 1.0, "comment_share": 1.0, "min_delay_seconds": 60}


async def _second_pod(world: PodWorld) -> dict[str, object]:
    """Another pod of the same two people (the author and one member)."""
    r = await world.api.post(
        "/v1/pods", json={"name": "second pod", "min_members": 2, "settings": SETTINGS},
        headers=world.tenant.headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    pod = r.json()
    for i, person in enumerate(world.people):
        r = await world.api.post(
            f"/v1/pods/{pod['id']}/members",
            json={"user_id": str(person.user_id), "linkedin_account_id": str(person.account_id),
                  "role": "owner" if i == 0 else "member"},
            headers=world.tenant.headers,
        )  # fmt: skip
        assert r.status_code == 201, r.text
    r = await world.api.patch(
        f"/v1/pods/{pod['id']}", json={"status": "active"}, headers=world.tenant.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_member_of_two_pods_with_the_author_likes_and_comments_once(
    world: PodWorld, runtime: Runtime, clock: ManualClock, db_url: str
) -> None:
    await world.make_pod(2, min_members=2, settings=SETTINGS)
    second = await _second_pod(world)
    author, member = world.people
    published = clock.now()
    sim_post, post_id = await _publish(world, runtime, author)

    # Planned once: the second pod's like and comment are skipped with the reason.
    rows = _activities(db_url, post_id)
    assert sorted((r["engagement_type"], r["status"]) for r in rows) == [
        ("comment", "pending"), ("comment", "skipped"), ("like", "pending"), ("like", "skipped"),
    ]  # fmt: skip
    skipped = [r for r in rows if r["status"] == "skipped"]
    assert {r["pod_id"] for r in skipped} == {UUID(str(second["id"]))}
    assert all("another pod" in r["error_message"] for r in skipped)

    # Activities planned twice anyway (before this guard, or by two pods at the same moment) are performed
    # once: the second is credited from the first one's confirmed action, without a second call.
    with superuser_conn(db_url) as conn:
        conn.execute(
            "update pod_activities set status = 'pending', error_message = null, scheduled_for = %s"
            " where id = any(%s)",
            (published + timedelta(minutes=2), [r["id"] for r in skipped]),
        )
    await _run_until(runtime, clock, published + timedelta(minutes=181), step=60)
    rows = _activities(db_url, post_id)
    assert [r["status"] for r in rows] == ["completed"] * 4, [(r["status"], r["error_message"]) for r in rows]
    # The member's own calls: the session's database may hold other tests' due activities, which a tick
    # performs too (against this simulator, for posts it does not have).
    reactions = [
        c for c in world.sim.calls("POST", "/posts/reaction") if c.account_id == member.unipile_account_id
    ]
    assert len(reactions) == 1
    assert list(sim_post.reactions) == [member.provider_id]
    assert [c.author.provider_id for c in sim_post.comments] == [member.provider_id]
    actions = {r["linkedin_action_id"] for r in rows}
    assert len(actions) == 2  # one like, one comment
    ledger = read_rows(
        db_url, "select action_key, status from linkedin_actions where id = any(%s)", list(actions)
    )
    assert {a["status"] for a in ledger} == {"done"}
    assert all(a["action_key"].startswith(f"pod:{member.account_id}:{sim_post.social_id}:") for a in ledger)


async def test_an_engagement_through_another_pod_is_found_by_the_post_s_id_or_its_url(
    world: PodWorld, runtime: Runtime, db_url: str
) -> None:
    first = await world.make_pod(2, min_members=2, settings=SETTINGS)
    second = await _second_pod(world)
    _, member = world.people
    url = "https://www.linkedin.com/posts/someone_activity-7300000000000000001"
    social = "urn:li:activity:7300000000000000001"
    with superuser_conn(db_url) as conn:
        [seat] = conn.execute(
            "select id from pod_members where pod_id = %s and linkedin_account_id = %s",
            (second["id"], member.account_id),
        ).fetchall()
        # The second pod's like of the post, by its pod post; its comment, written without one (by URL).
        pod_post = conn.execute(
            "insert into pod_posts (client_id, pod_id, author_member_id, post_url, social_id, published_at)"
            " values (%s, %s, %s, %s, %s, now()) returning id",
            (world.tenant.client_id, second["id"], seat["id"], url, social),
        ).fetchone()["id"]
        for kind, linked, status in (("like", pod_post, "completed"), ("comment", None, "pending"),
                                     ("repost", None, "skipped")):  # fmt: skip
            conn.execute(
                "insert into pod_activities (client_id, pod_id, pod_post_id, post_url, engagement_type,"
                " member_id, scheduled_for, window_ends_at, status)"
                " values (%s, %s, %s, %s, %s, %s, now(), now() + interval '1 hour', %s)",
                (world.tenant.client_id, second["id"], linked, url, kind, seat["id"], status),
            )

    async def elsewhere(pod_id: object, social_id: str | None, post_url: str) -> dict[UUID, set[str]]:
        async with runtime.db.service() as conn:
            return await pods_repo.engaged_elsewhere(
                conn, client_id=world.tenant.client_id, pod_id=UUID(str(pod_id)), social_id=social_id,
                post_url=post_url, account_ids=[member.account_id],
            )  # fmt: skip

    # From the first pod: the like (same social id, or same URL) and the comment (same URL); never the
    # skipped repost.
    assert await elsewhere(first["id"], social, url) == {member.account_id: {"like", "comment"}}
    assert await elsewhere(first["id"], None, url) == {member.account_id: {"like", "comment"}}
    assert await elsewhere(first["id"], social, url + "?other") == {member.account_id: {"like"}}
    assert await elsewhere(first["id"], "urn:li:activity:1", url + "?other") == {}
    # A pod's own activities are not "elsewhere".
    assert await elsewhere(second["id"], social, url) == {}
