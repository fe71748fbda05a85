"""Logging: text or JSON lines (REVOS_LOG_FORMAT), each carrying the request or job it belongs to.

The API sets the request id of each request (`X-Request-Id`, or a new one; see revos.api.observe),
the worker the id of each job it runs; both live in context variables, so every line logged while
they run (in any module, in any task they spawn) carries them, through `ContextFilter`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("revos_request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("revos_job_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s]: %(message)s"

# LogRecord's own attributes: what is not among them was passed with `extra=` and goes into JSON.
_RECORD_FIELDS = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "context",
    "request_id",
    "job_id",
}


class ContextFilter(logging.Filter):
    """Adds `request_id`, `job_id` and `context` (whichever is set, for the text format) to a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid, jid = request_id.get(), job_id.get()
        record.request_id = rid
        record.job_id = jid
        record.context = f"req={rid}" if rid else (f"job={jid}" if jid else "-")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id / job_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value:
                out[key] = value
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in out and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str)


def make_handler(fmt: Literal["text", "json"], stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure(level: str = "INFO", fmt: Literal["text", "json"] = "text") -> None:
    """The root logger writes `fmt` lines to stderr; uvicorn's loggers go through it too."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_revos", False):
            root.removeHandler(old)
    handler = make_handler(fmt)
    handler._revos = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


@contextmanager
def bound(*, request: str | None = None, job: str | None = None) -> Iterator[None]:
    """Lines logged inside the block carry this request or job id."""
    tokens = []
    if request is not None:
        tokens.append((request_id, request_id.set(request)))
    if job is not None:
        tokens.append((job_id, job_id.set(job)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
