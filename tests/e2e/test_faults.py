"""The fault run end to end: the whole pipeline (embedded PostgreSQL, the simulator, the API, workers, an ESP
receiver) while LinkedIn answers 429s and 5xx, DM sends time out after LinkedIn recorded them, more first
DMs fall due on the first day than the account's daily cap allows, the worker is killed mid-send and the
account is disconnected, then reconnected through the API.

Nothing here depends on the machine's speed: the run's clock does not leave the first day before that
day's DM budget is spent, each fault is injected once the run has got that far, and the timeout only
bounds a run that stopped making progress.

The worker killed is a real process (`python -m tests.e2e.faults`, a QueueWorker like `revos worker`),
given SIGKILL while one of its sends is held open by LinkedIn after the message was recorded: no graceful
shutdown, its job stays 'doing' and its heartbeat stops. It shares the run's scaled clock by starting from
the test's clock reading at a given wall instant. The second worker runs in the test process, next to the
simulator, and must recover the dead worker's jobs as stalled and reconcile the action it left in flight.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from revos import migrations
from revos.config import get_settings
from revos.demo import DemoOptions
from tests.e2e.faults import FaultPlan, run_faults


@pytest.mark.timeout(900)  # above the run's own ceiling (600 s): a slow machine only takes longer
async def test_under_faults_every_lead_ends_terminal_nobody_gets_a_step_twice_and_no_cap_is_exceeded(
    empty_db_url: str, tmp_path: Path
) -> None:
    migrations.migrate(empty_db_url)
    settings = get_settings().model_copy(update={"database_url": empty_db_url, "magnet_local_dir": tmp_path})
    options = DemoOptions(commenters=80, speed=7200.0, port=0, timeout=600, show_progress=False, seed=11)
    plan = FaultPlan()
    run = await run_faults(
        settings, options, plan, workdir=tmp_path, console=Console(stderr=True, quiet=True)
    )
    report, chaos = run.report, run.chaos
    story = "\n".join(chaos.events) + "\n" + json.dumps(report.figures, indent=1, default=str)

    # Every fault happened: the worker process died with a send in flight, its jobs were recovered, the
    # account went down and came back, and 429s, 5xx and post-action timeouts were answered along the way.
    assert chaos.killed_in_flight, story
    assert chaos.stalled_jobs, story
    assert chaos.recovered_after is not None, story
    assert chaos.disconnected, story
    assert chaos.reconnected, story
    fired = run.faults_fired
    assert fired["rate_limit"] > 0, fired
    assert fired["error 500"] + fired["error 503"] > 0, fired
    assert fired["timeout after the action"] > 1, fired  # the held send, and the standing timeouts

    # Every lead reached a terminal state, none lost, and nobody got anything twice.
    assert run.finished, story + "\n" + "\n".join(report.not_terminal)
    assert report.problems == {}, story
    assert report.figures["leads"] == report.figures["terminal"] > 0
    assert report.figures["emails"] == report.figures["verified_at_esp"] > 0
    assert run.details["receiver_rejected"] == 0

    # The cap bound on the first day: the leads over it were told on their timeline to wait for the next
    # day's budget, and their first DM went out then or later. No day used more than its budget (a send
    # LinkedIn never received gives its unit back, so a day may end below it).
    budget = report.figures["budget_used"]
    assert all(n <= plan.cap_dm for day, n in budget.items() if day.endswith(" dm")), story
    assert all(n <= plan.cap_invitation for day, n in budget.items() if day.endswith(" invitation")), story
    assert run.capped_day is not None
    next_day = run.capped_day + timedelta(days=1)
    held = report.figures["held_by_dm_cap"]
    assert sum(n for days, n in held.items() if days.startswith(f"{next_day}: ")) > 0, story
    assert report.held_not_sent_later == [], story

    # What revOS measured is what LinkedIn saw.
    assert run.funnel == run.ground_truth, story
