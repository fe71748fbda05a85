"""The `offline` provider: a deterministic writer driven by the resolved voice (no network, no key)."""

from __future__ import annotations

import time

from revos.ai import writer
from revos.ai.base import Completion, CompletionRequest, estimate_tokens

OFFLINE_MODEL = "revos-voice-writer-1"


class OfflineProvider:
    name = "offline"

    def __init__(self, model: str | None = None) -> None:
        self.model = model or OFFLINE_MODEL

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        texts = writer.write(request)
        return Completion(
            texts=texts,
            provider=self.name,
            model=self.model,
            tokens_in=estimate_tokens(request.system) + estimate_tokens(request.prompt),
            tokens_out=sum(estimate_tokens(t) for t in texts),
            latency_ms=int((time.perf_counter() - started) * 1000),
            cost_usd=0.0,
        )
