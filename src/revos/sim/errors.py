"""Unipile v1 error bodies: `{title, detail, instance, type, status}` (spec §3)."""

from __future__ import annotations

from typing import Any

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class SimError(Exception):
    """Raised anywhere in the simulator; rendered as the Unipile error body with `status`."""

    def __init__(self, status: int, type_: str, detail: str = "", title: str | None = None) -> None:
        super().__init__(f"{status} {type_}: {detail}")
        self.status = status
        self.type = type_ if type_.startswith("errors/") else f"errors/{type_}"
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")

    def body(self, instance: str = "") -> dict[str, Any]:
        return {
            "title": self.title,
            "detail": self.detail,
            "instance": instance,
            "type": self.type,
            "status": self.status,
        }


def not_found(what: str) -> SimError:
    return SimError(404, "resource_not_found", f"{what} not found")


def invalid(detail: str) -> SimError:
    return SimError(400, "invalid_parameters", detail)


def missing(name: str) -> SimError:
    return SimError(400, "missing_parameters", f"Missing required parameter: {name}")


def too_many_requests() -> SimError:
    return SimError(
        429,
        "too_many_requests",
        "The provider cannot accept any more requests at the moment. Please try again later.",
    )
