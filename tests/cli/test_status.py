"""`revos status` as an operator runs it: due work, stalled jobs, failing endpoints, paused accounts,
pending migrations, in tables or as JSON; exit 1 when something needs a hand."""

from __future__ import annotations

import json
from pathlib import Path

from revos import migrations
from revos.config import Settings
from revos.db.pool import Database
from revos.ops.status import read_status
from tests.cli.test_commands import base_env, run
from tests.db.factories import seed_agency, seed_tenant
from tests.support import superuser_conn


async def test_status_reports_due_work_and_what_needs_attention(empty_db_url: str, tmp_path: Path) -> None:
    env = base_env(REVOS_DATABASE_URL=empty_db_url, REVOS_DATA_DIR=str(tmp_path))
    async with Database(empty_db_url, min_size=1, max_size=1) as db:
        before = await read_status(db, Settings())
    assert before["pending_migrations"] > 0
    assert not before["ok"]

    migrations.migrate(empty_db_url)
    with superuser_conn(empty_db_url) as conn:
        tenant = seed_tenant(conn, "A", seed_agency(conn))
        conn.execute(
            "update linkedin_accounts set paused_at = now(), pause_reason = 'rate_limited', "
            "paused_until = now() + interval '1 hour' where id = %s",
            (tenant.ids["linkedin_accounts"],),
        )
        conn.execute(
            "update webhook_configs set consecutive_failures = 5, disabled_at = now(), "
            "disabled_reason = 'gave up 5 times' where id = %s",
            (tenant.ids["webhook_configs"],),
        )
        conn.execute(
            "update dm_sequences set status = 'in_progress', next_action_at = now() - interval '1 minute' "
            "where id = %s",
            (tenant.ids["dm_sequences"],),
        )
        conn.execute(
            "update webhook_deliveries set status = 'failed', next_retry_at = now() - interval '1 minute' "
            "where id = %s",
            (tenant.ids["webhook_deliveries"],),
        )

    as_json = run(["status", "--json"], env)
    report = json.loads(as_json.stdout.splitlines()[-1])
    assert as_json.returncode == 1
    assert report["pending_migrations"] == 0
    assert report["due"]["dm_steps"] == 1
    assert report["due"]["webhook_retries"] == 1
    assert report["due"]["audit_entries"] >= 2  # the two updates above, not chained without a worker
    assert [a["pause_reason"] for a in report["paused_accounts"]] == ["rate_limited"]
    assert [e["disabled_reason"] for e in report["failing_webhook_endpoints"]] == ["gave up 5 times"]
    assert report["problems"] == ["disabled webhook endpoint(s)"]

    # Piped, as here (not a terminal, no COLUMNS: 80 columns), each message stays one line to grep.
    text = run(["status"], {k: v for k, v in env.items() if k != "COLUMNS"})
    (due_line,) = [line for line in text.stdout.splitlines() if line.startswith("due now:")]
    assert due_line.startswith("due now: 1 DM step(s), 1 webhook retr"), due_line
    assert due_line.endswith("job(s) running"), due_line
    assert "paused accounts (1)" in text.stdout
    assert "rate_limited" in text.stdout
    assert "stalled jobs: none" in text.stdout
    assert "pending migrations: 0" in text.stdout
