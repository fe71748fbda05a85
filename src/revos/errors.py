"""Errors that carry their HTTP meaning; one handler renders them as {"error", "detail"}."""

from __future__ import annotations

from typing import Any


class RevosError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, status_code: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.detail = detail


class NotFound(RevosError):
    status_code = 404
    code = "not_found"


class Conflict(RevosError):
    status_code = 409
    code = "conflict"


class Unauthorized(RevosError):
    status_code = 401
    code = "unauthorized"


class Forbidden(RevosError):
    status_code = 403
    code = "forbidden"


class ValidationFailed(RevosError):
    status_code = 422
    code = "validation_failed"


class ConfigError(RevosError):
    """Refusal to start: a missing or unsafe setting."""

    status_code = 500
    code = "configuration_error"
