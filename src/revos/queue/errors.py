"""Errors of the job queue."""

from __future__ import annotations

from revos.errors import Conflict, RevosError


class AlreadyEnqueued(Conflict):
    """A job with this queueing_lock is already waiting: the new one was not added.

    The caller's transaction is intact (the attempt ran in a savepoint), so it can carry on.
    """

    code = "already_enqueued"

    def __init__(self, queueing_lock: str | None) -> None:
        super().__init__(
            f"a job with queueing lock {queueing_lock!r} is already waiting",
            detail={"queueing_lock": queueing_lock},
        )
        self.queueing_lock = queueing_lock


class UnknownTask(RevosError):
    """Deferring a task no worker would know: a typo would otherwise only fail in the worker."""

    status_code = 500
    code = "unknown_task"


class QueueNotInstalled(RevosError):
    """The database is reachable but has no queue schema: `revos db migrate` was not run."""

    status_code = 500
    code = "queue_not_installed"


class PermanentFailure(RevosError):
    """Raise from a task to fail its job now, without the retries left: retrying cannot help."""

    status_code = 500
    code = "permanent_failure"
