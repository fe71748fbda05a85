"""What the simulator keeps about its HTTP side: the request log and the hosted-auth links it issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class RequestRecord:
    at: datetime
    method: str
    path: str  # after /api/v1
    account_id: str | None
    status: int


@dataclass
class HostedLink:
    token: str
    type: str  # create | reconnect
    expires_on: datetime
    name: str | None
    notify_url: str | None
    success_redirect_url: str | None
    failure_redirect_url: str | None
    reconnect_account: str | None
    account_id: str | None = None  # the authentication in progress (after a checkpoint)
    done: bool = False


@dataclass
class Notification:
    """A notify_url call the simulator made: what it sent and what the application answered."""

    url: str
    body: dict[str, Any]
    status: int | None
    error: str | None = None
