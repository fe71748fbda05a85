"""A pod comment under a campaign's post never contains the campaign's trigger word: the member would
become a lead of their own colleague and be sent the DM sequence."""

from __future__ import annotations

from uuid import UUID

from revos import events
from revos.clock import utcnow
from revos.pods import execution
from revos.runtime import Runtime
from revos.text.triggers import matches_trigger
from tests.pods.conftest import PodWorld
from tests.support import make_campaign, make_post, read_rows

# The offline writer quotes the first sentence ("hiring your first salesperson ...") in most drafts.
TEXT = (
    "Hiring your first salesperson is a process problem before it is a people problem.\n"
    "Write the playbook first: the calls you made, the objections you heard, the deals you lost.\n"
    "Comment SALESPERSON and I will send you mine."
)


async def test_drafts_and_edits_never_contain_the_campaigns_trigger_word(
    world: PodWorld, runtime: Runtime, db_url: str
) -> None:
    settings = {"engage_share": 1.0, "comment_share": 1.0, "comment_approval": True}
    await world.make_pod(4, min_members=4, settings=settings)
    author = world.people[0]
    campaign = await make_campaign(
        world.owner,
        client_id=world.tenant.client_id,
        trigger_word="Salesperson",
        trigger_words=["Salesperson"],
    )
    sim_post = world.sim.world.create_post(author.login.member, TEXT, author.unipile_account_id)
    post = await make_post(
        world.owner, client_id=world.tenant.client_id, campaign_id=campaign["id"],
        linkedin_account_id=author.account_id, content=TEXT, status="published",
        unipile_post_id=sim_post.id, social_id=sim_post.social_id, published_at=utcnow(),
    )  # fmt: skip
    async with runtime.db.service() as conn:
        await events.publish(
            runtime, conn, events.PostPublished(world.tenant.client_id, post["id"], None, author.account_id)
        )
    await execution.run_due(runtime)  # drafts the comments, to be approved
    comments = read_rows(
        db_url,
        "select id, comment_text, status from pod_activities where post_id = %s and engagement_type = 'comment'",
        post["id"],
    )
    assert len(comments) == 3
    assert all(c["status"] == "pending" and c["comment_text"] for c in comments), comments
    assert not [c for c in comments if matches_trigger(c["comment_text"], ["Salesperson"])]

    base = f"/v1/pods/{world.pod['id']}/activities/{comments[0]['id']}"
    edited = "Hiring the first SALESPERSON after writing the playbook saved us a painful quarter."
    r = await world.api.post(f"{base}/approve", json={"text": edited}, headers=world.tenant.headers)
    assert r.status_code == 422, r.text
    assert "trigger word" in r.text
    [row] = read_rows(
        db_url, "select approval from pod_activities where id = %s", UUID(str(comments[0]["id"]))
    )
    assert row["approval"] == "pending"
