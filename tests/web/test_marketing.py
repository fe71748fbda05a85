"""The marketers' pages in the browser: campaigns, leads and their timeline, the CSV export, the review queue."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from playwright.async_api import BrowserContext, Page, expect

from revos.demo.world import make_pdf
from revos.runtime import Runtime
from tests.support.rows import (
    Conn,
    make_campaign,
    make_dm_sequence,
    make_lead,
    make_lead_magnet,
)
from tests.web.conftest import make_person, screenshot, sign_in


async def test_a_campaign_is_created_with_an_uploaded_magnet_after_its_template_error_is_shown(
    owner: Conn, runtime: Runtime, page: Page, context: BrowserContext, tmp_path: object
) -> None:
    person = await make_person(owner, runtime, role="manager")
    await sign_in(context, person)
    await page.goto("/app/campaigns/new")
    await page.get_by_label("Name", exact=True).fill("Guide launch <b>2026</b>")
    await page.get_by_label("Trigger words (comma-separated)").fill("guide, playbook")
    await page.get_by_label("Or upload a new one (PDF, image, zip, Office, ePub, MP4)").set_input_files(
        files=[{"name": "guide.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}]
    )
    step1 = page.get_by_label("Step 1 message")
    await step1.fill("Hi {{firstname}}, want {{lead_magnet_name}}?")
    # The live preview (htmx) names the unknown variable before anything is saved.
    await expect(page.locator("#preview-dm_template_step1 .error")).to_contain_text("{{firstname}}")
    await page.get_by_role("button", name="Create campaign").click()
    # Refused: the error sits under the field, the upload is kept (selected as the existing magnet).
    await expect(page.locator("#err-dm_template_step1")).to_contain_text("{{firstname}}")
    await expect(page.get_by_label("Existing lead magnet")).to_have_value(
        await page.get_by_label("Existing lead magnet").input_value()
    )
    assert await page.get_by_label("Existing lead magnet").input_value() != ""
    await page.get_by_label("Step 1 message").fill("Hi {{first_name}}, want {{lead_magnet_name}}?")
    await expect(page.locator("#preview-dm_template_step1 .bubble")).to_have_text("Hi Ada, want guide?")
    await page.get_by_role("button", name="Create campaign").click()
    await expect(page.get_by_role("heading", name="Guide launch <b>2026</b>")).to_be_visible()  # as text
    await expect(page.get_by_text("guide", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Activate").click()
    await expect(page.get_by_text("The campaign is active.")).to_be_visible()
    await page.goto("/app/campaigns")
    await screenshot(page, "campaigns")


async def test_leads_are_filtered_exported_reviewed_and_explained(
    owner: Conn, runtime: Runtime, page: Page, context: BrowserContext
) -> None:
    person = await make_person(owner, runtime, role="member")
    magnet = await make_lead_magnet(owner, client_id=person.client_id)
    campaign = await make_campaign(
        owner, client_id=person.client_id, lead_magnet_id=magnet["id"], name="Spring guide", status="active"
    )
    start = datetime.now(UTC) - timedelta(hours=3)
    leads = []
    for i, (first, status) in enumerate(
        [("Ada", "dm_sent"), ("Grace", "dm_replied"), ("Alan", "dm_sent"), ("Edsger", "completed")]
    ):
        leads.append(
            await make_lead(
                owner, client_id=person.client_id, campaign_id=campaign["id"], first_name=first,
                last_name="Tester", status=status, created_at=start + timedelta(minutes=i),
            )
        )  # fmt: skip
    grace = leads[1]
    sequence = await make_dm_sequence(
        owner, client_id=person.client_id, campaign_id=campaign["id"], lead_id=grace["id"],
        status="in_progress", stage="review", review_status="pending",
        email_extracted="grace@example.com", email_confidence=0.4,
    )  # fmt: skip
    await owner.execute("update leads set dm_sequence_id = %s where id = %s", (sequence["id"], grace["id"]))
    await owner.execute(
        "insert into lead_events (lead_id, occurred_at, kind, reason) values"
        " (%s, now() - interval '2 hours', 'dm_deferred', 'outside working hours <script>x</script>')",
        (leads[0]["id"],),
    )
    await sign_in(context, person)

    # The table, filtered by status: the CSV of the same filter holds exactly its rows.
    await page.goto("/app/leads")
    await page.get_by_label("Status").select_option("dm_sent")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#lead-rows tr")).to_have_count(2)
    await screenshot(page, "leads")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Export CSV").click()
    download = await info.value
    rows = list(csv.DictReader(io.StringIO((await download.path()).read_text())))  # type: ignore[union-attr]
    assert sorted(r["first_name"] for r in rows) == ["Ada", "Alan"]
    assert {r["status"] for r in rows} == {"dm_sent"}

    # Search by name prefix, then the lead's timeline says why nothing was sent yet.
    await page.goto("/app/leads?q=ada")
    await page.get_by_role("link", name="Ada Tester").click()
    await expect(page.get_by_text("outside working hours <script>x</script>")).to_be_visible()
    await screenshot(page, "lead-timeline")

    # The review queue: one click approves the email as read.
    await page.goto("/app/review")
    await screenshot(page, "review")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("grace@example.com")
    state = await (
        await owner.execute("select review_status from dm_sequences where id = %s", (sequence["id"],))
    ).fetchone()
    assert state is not None
    assert state["review_status"] == "approved"
