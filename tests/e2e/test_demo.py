"""`revos demo` end to end: embedded PostgreSQL (a fresh database), the simulator, the API, the worker and an
ESP receiver; the funnel read from the database against the simulator's ground truth.

The 200-commenter run is in this process (so the test can read the run's details); the README's command is
also run as a user runs it, in its own process, and judged by its `--json` line.

A run ends when every lead is terminal, whatever the machine's speed; the timeouts only bound a run that
stopped making progress. On a slow machine the clock runs on meanwhile, so more simulated time passes
between two steps; what the assertions compare is what happened, on both sides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from revos import migrations
from revos.config import get_settings
from revos.demo import DemoOptions, run_demo
from revos.demo.pods import COMMENT_WINDOW_MINUTES, LIKE_WINDOW_MINUTES
from revos.demo.world import FUNNEL_KEYS


@pytest.mark.timeout(900)  # above the run's own ceiling (600 s): a slow machine only takes longer
async def test_two_hundred_commenters_reach_the_esp_and_the_funnel_equals_the_ground_truth(
    empty_db_url: str, tmp_path: Path
) -> None:
    migrations.migrate(empty_db_url)
    settings = get_settings().model_copy(update={"database_url": empty_db_url, "magnet_local_dir": tmp_path})
    options = DemoOptions(commenters=200, speed=7200.0, port=0, timeout=600, show_progress=False, seed=11)
    result = await run_demo(settings, options, console=Console(stderr=True, quiet=True))

    funnel, truth = result.funnel, result.ground_truth
    assert result.finished, result.details.get("stuck")
    assert list(funnel) == list(truth) == list(FUNNEL_KEYS)
    assert funnel == truth
    # The mix is the one the demo promises: second comments and plain comments make no lead, some
    # members never reply, some reply without an email, some never click.
    assert truth["comments"] > truth["leads"] > truth["dms"] > truth["replies"] > truth["emails"] > 0
    assert truth["webhooks"] == truth["emails"] > truth["clicks"] > 0
    assert result.details["repeats"] == {"duplicate_dms": 0, "duplicate_invitations": 0}
    assert result.details["receiver_rejected"] == 0
    # The post was drafted by the copywriting skill in the owner's learned voice, then checked.
    runs = result.details["skills"]
    assert [r["skill"] for r in runs] == ["copywriting", "deliverability"]
    assert all(r["success"] and r["tokens"] > 0 and r["provider"] == "offline" for r in runs)
    assert all(r["cost_usd"] == 0 for r in runs)  # the offline writer costs nothing
    # The owner's engagement pod: nine members liked the post (some also commented), each once, inside
    # the windows; what revOS completed is what the simulated LinkedIn saw.
    pod = result.details["pod"]
    assert pod["members"] == 10
    assert pod["revos"]["pending"] == pod["revos"]["failed"] == 0
    assert pod["revos"]["likes"] == pod["simulator"]["likes"] >= 7
    assert pod["revos"]["comments"] == pod["simulator"]["comments"] > 0
    assert pod["duplicates"] == 0
    assert pod["engagers"] >= 7
    # Inside the demo pod's windows, give or take the few wall milliseconds an action takes once started,
    # which are minutes of LinkedIn time at two hours a second.
    assert (
        1
        <= pod["minutes_after_post"]["like"][0]
        <= pod["minutes_after_post"]["like"][1]
        < LIKE_WINDOW_MINUTES + 6
    )
    assert pod["minutes_after_post"]["comment"][1] < COMMENT_WINDOW_MINUTES + 6
    assert result.ok

    with psycopg.connect(empty_db_url) as conn:
        statuses = dict(
            conn.execute(
                "select s.status, count(*) from dm_sequences s join leads l on l.id = s.lead_id"
                " group by s.status"
            ).fetchall()
        )
        usage = conn.execute("select kind, sum(used) from account_daily_usage group by kind").fetchall()
        # The run's account and campaign are retired when the demo ends.
        paused = conn.execute("select count(*) from linkedin_accounts where paused_at is null").fetchone()
        # The published post is the copywriting skill's draft, written in a voice learned from posts.
        drafted = conn.execute(
            "select p.status, p.content = e.output_data ->> 'text' as same, c.auto_generate, c.source_posts_count"
            " from skill_executions e join posts p on p.id = e.applied_post_id"
            " join cartridges c on c.id = e.cartridge_id where e.skill_name = 'copywriting'"
        ).fetchall()
    assert set(statuses) <= {"completed", "abandoned", "failed"}
    assert sum(statuses.values()) == truth["leads"]
    assert dict(usage)["dm"] >= truth["dms"]  # every DM counted against the account's daily budgets
    assert paused == (0,)
    assert len(drafted) == 1
    assert drafted[0][:3] == ("published", True, True)
    assert drafted[0][3] > 0


@pytest.mark.timeout(600)  # above the demo's own ceiling and the two minutes it is given on top
def test_the_readme_command_prints_the_funnel_as_its_last_json_line(
    empty_db_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVOS_")}
    env.update(
        REVOS_ENV="development",
        REVOS_DATABASE_URL=empty_db_url,
        REVOS_DATA_DIR=str(tmp_path),
        REVOS_MAGNET_LOCAL_DIR=str(tmp_path / "magnets"),
        COLUMNS="120",
    )
    # The demo gives up by itself after its --timeout (300 s by default); the process gets two minutes
    # more to say so, so a run that stopped making progress fails with the demo's own report.
    done = subprocess.run(
        [sys.executable, "-m", "revos.cli", "demo", "--json", "--port", "0", "--commenters", "24"],
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    report = json.loads(last)
    assert set(report) == {"funnel", "ground_truth", "skills", "pod"}
    assert [r["skill"] for r in report["skills"]] == ["copywriting", "deliverability"]
    assert all(r["success"] and r["tokens"] > 0 for r in report["skills"])
    assert "skills: 2 skill run(s):" in done.stderr  # the end-of-run summary names them, tokens and cost
    pod = report["pod"]
    assert (pod["revos"]["likes"], pod["revos"]["comments"]) == (
        pod["simulator"]["likes"],
        pod["simulator"]["comments"],
    )
    assert pod["revos"]["likes"] > 0
    assert pod["duplicates"] == 0
    assert "pod: 10 members, " in done.stderr
    assert report["funnel"] == report["ground_truth"]
    assert report["funnel"]["leads"] > 0
    assert report["funnel"]["webhooks"] > 0
    assert "client API key:" in done.stdout  # a user can reach the API the demo set up
    assert "/app/" in done.stdout.split("dashboard:", 1)[1].splitlines()[0]  # and the dashboard, signed in as
    assert "demo login:     admin@demo.example.com / " in done.stdout  # the demo admin with a fresh password
