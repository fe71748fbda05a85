"""`revos demo --pipeline` end to end, in this process: embedded PostgreSQL (a fresh database), the simulator,
the API, the worker and an ESP receiver; the funnel read from the database against the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from revos.config import get_settings
from revos.db import migrate as migrations
from revos.demo import DemoOptions, run_demo


async def test_demo_pipeline_sets_up_through_the_api_and_turns_every_trigger_commenter_into_one_lead(
    empty_db_url: str, tmp_path: Path
) -> None:
    migrations.migrate(empty_db_url)
    settings = get_settings().model_copy(update={"database_url": empty_db_url, "magnet_local_dir": tmp_path})
    options = DemoOptions(commenters=30, speed=7200.0, port=0, timeout=30, show_progress=False, seed=11)
    result = await run_demo(settings, options, console=Console(stderr=True, quiet=True))

    funnel, truth = result.funnel, result.ground_truth
    assert set(funnel) == set(truth)
    # Set-up through the API worked: account behind 2FA, magnet, webhook config, campaign, published post,
    # and every comment was polled; one lead per trigger commenter (second and plain comments make none).
    assert funnel["comments"] == truth["comments"] > 30
    assert funnel["leads"] == truth["leads"] < truth["comments"]
    assert funnel["dms"] > 0  # equal to the ground truth only once nothing is in flight
    assert truth["dms"] > 0
    assert result.details["receiver_rejected"] == 0
