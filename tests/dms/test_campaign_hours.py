"""A campaign's own working hours: its DMs wait for the campaign's window, in the account's time zone."""

from __future__ import annotations

from datetime import timedelta

from psycopg.types.json import Jsonb

from revos.sim import Persona
from tests.dms.conftest import World
from tests.support import superuser_conn


async def test_a_comment_after_the_campaigns_hours_gets_its_dm_when_the_window_opens(world: World) -> None:
    with superuser_conn(world.db_url) as conn:
        conn.execute(
            "update campaigns set settings = settings || %s where id = %s",
            (Jsonb({"working_hours": {"start_hour": 9, "end_hour": 17}}), world.scene.campaign_id),
        )
    now = world.clock.now()
    evening = (now + timedelta(days=1)).replace(hour=20, minute=0, second=0, microsecond=0)
    world.clock.set(evening)
    ann = world.member("Ann", Persona(reply="never"))
    lead_id = await world.comment(ann)
    assert lead_id is not None

    await world.run()
    assert world.sim.sent_messages(to=ann) == []
    opening = (evening + timedelta(days=1)).replace(hour=9)
    assert world.seq(lead_id)["next_action_at"] == opening
    reasons = [event["reason"] for event in world.timeline(lead_id)]
    assert any("outside the campaign's working hours" in reason for reason in reasons)

    world.clock.set(opening - timedelta(minutes=1))
    await world.run()
    assert world.sim.sent_messages(to=ann) == []
    world.clock.set(opening + timedelta(minutes=1))
    await world.run()
    assert len(world.sim.sent_messages(to=ann)) == 1
