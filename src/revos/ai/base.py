"""The provider interfaces every AI caller codes against: completion and embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from revos.errors import RevosError

PURPOSES = ("post", "dm", "comment", "rewrite", "describe", "brief", "check")


@dataclass(frozen=True)
class CompletionRequest:
    system: str  # instructions (the voice, the rules)
    prompt: str  # the task
    purpose: str  # "post" | "dm" | "comment" | "rewrite" | "describe" | "brief" | "check"
    voice: Mapping[str, Any] | None = None  # the resolved voice dict, for the offline writer
    context: Mapping[str, Any] | None = None  # trigger_word, lead_magnet_name, topic, text (rewrite), ...
    max_tokens: int = 800
    temperature: float = 0.7
    variants: int = 1  # how many alternatives (offline: deterministic distinct variants)


@dataclass(frozen=True)
class Completion:
    texts: list[str]  # one per variant
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    cost_usd: float

    @property
    def text(self) -> str:
        return self.texts[0]

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


class CompletionProvider(Protocol):
    name: str
    model: str

    async def complete(self, request: CompletionRequest) -> Completion: ...


class Embedder(Protocol):
    name: str
    model: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class AiError(RevosError):
    """The provider is down, timed out after the retries, or refused the request."""

    status_code = 502
    code = "ai_provider_error"


class AiBudgetExceeded(RevosError):
    """The client's monthly token budget is spent (or this call would overspend it)."""

    status_code = 429
    code = "ai_budget_exceeded"


def estimate_tokens(text: str) -> int:
    """About four characters per token: the usual rule of thumb for English with BPE tokenizers."""
    return max(1, (len(text) + 3) // 4) if text else 0
