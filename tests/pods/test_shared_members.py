"""Two pods sharing the author and a member: the member likes and comments on the post once."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from revos.clock import ManualClock
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
