"""Retry policy of revOS tasks: exponential backoff with jitter, a total number of attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from procrastinate import utils
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from revos.queue.app import current_settings
from revos.queue.errors import PermanentFailure


@dataclass(frozen=True)
class BackoffRetry(BaseRetryStrategy):
    """Retry until `max_attempts` runs in total (the spec's meaning; Procrastinate counts retries).

    The n-th retry waits base * 2**(n-1), capped, times 1 + U(0, jitter): jobs that failed together
    (an outage) do not all come back in the same second. None = the settings' value, read when a
    job fails, so tests and deployments tune them without touching task code.
    """

    max_attempts: int | None = None
    base_seconds: float | None = None
    max_seconds: float | None = None
    jitter: float | None = None

    def resolved_max_attempts(self) -> int:
        return self.max_attempts or current_settings().queue_default_max_attempts

    def delay_seconds(self, attempts_done: int) -> float:
        settings = current_settings()
        base = settings.queue_retry_base_seconds if self.base_seconds is None else self.base_seconds
        cap = settings.queue_retry_max_seconds if self.max_seconds is None else self.max_seconds
        jitter = settings.queue_retry_jitter if self.jitter is None else self.jitter
        delay = min(cap, base * 2 ** max(0, attempts_done - 1))
        return float(delay * (1 + random.uniform(0, jitter)))

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, PermanentFailure):
            return None
        attempts_done = job.attempts + 1  # job.attempts counts the runs before this one
        if attempts_done >= self.resolved_max_attempts():
            return None
        return RetryDecision(retry_at=utils.utcnow() + timedelta(seconds=self.delay_seconds(attempts_done)))
