"""The job queue: Procrastinate in its own schema, deferred inside the caller's transaction.

    from revos.queue import defer, task, periodic

See app.py (the app, TASK_MODULES), registry.py (declaring tasks), defer.py (deferring),
worker.py (running), maintenance.py (periodic upkeep), schema.py (installation).
"""

from revos.queue.app import TASK_MODULES, app, current_runtime, open_app
from revos.queue.defer import JobRequest, defer, defer_if_absent, defer_many, defer_many_if_absent
from revos.queue.errors import AlreadyEnqueued, PermanentFailure, QueueNotInstalled, UnknownTask
from revos.queue.registry import PERIODIC, periodic, task

__all__ = [
    "PERIODIC",
    "TASK_MODULES",
    "AlreadyEnqueued",
    "JobRequest",
    "PermanentFailure",
    "QueueNotInstalled",
    "UnknownTask",
    "app",
    "current_runtime",
    "defer",
    "defer_if_absent",
    "defer_many",
    "defer_many_if_absent",
    "open_app",
    "periodic",
    "task",
]
