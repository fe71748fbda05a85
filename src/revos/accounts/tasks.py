"""Queue tasks of LinkedIn accounts.

The spec's `reset_daily_limits()` is scheduled by the queue's maintenance tasks
(`maintenance.reset_daily_limits`); the caps themselves live per account-local day in
`account_daily_usage` and need no reset.
"""

from __future__ import annotations

from uuid import UUID

from revos.accounts import service
from revos.queue import current_runtime, task


@task("accounts.refresh_profile", queue="accounts", max_attempts=3)
async def refresh_profile(account_id: str) -> None:
    await service.refresh_profile(current_runtime(), UUID(account_id))
