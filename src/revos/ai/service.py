"""One entry point for completions: the client's provider, its budget, retries and cost."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.ai.base import Completion, CompletionRequest
from revos.ai.offline import OfflineProvider


async def complete(runtime: Any, db: Any, *, client_id: UUID, request: CompletionRequest) -> Completion:
    """Run `request` with the client's provider (offline for now: budget and remote providers follow)."""
    return await OfflineProvider().complete(request)
