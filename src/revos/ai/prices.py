"""What a run costs: USD per million tokens, in and out, per model (setting REVOS_AI_PRICES extends it).

List prices of the vendors' public price pages for the common models; a model is matched exactly, then
by the longest known prefix, so dated snapshots ("gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929")
are priced like their family. Local models (Ollama, vLLM, LM Studio) and the offline writer cost nothing;
an unknown model is priced at 0 and says so (`known=False`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    # OpenAI
    "gpt-5": {"input": 1.25, "output": 10.0},
    "gpt-5-mini": {"input": 0.25, "output": 2.0},
    "gpt-5-nano": {"input": 0.05, "output": 0.40},
    "gpt-4.1": {"input": 2.0, "output": 8.0},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "gpt-4o": {"input": 2.50, "output": 10.0},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "o3": {"input": 2.0, "output": 8.0},
    "o3-mini": {"input": 1.10, "output": 4.40},
    "o4-mini": {"input": 1.10, "output": 4.40},
    "text-embedding-3-small": {"input": 0.02, "output": 0.0},
    "text-embedding-3-large": {"input": 0.13, "output": 0.0},
    # Anthropic
    "claude-opus-4-5": {"input": 5.0, "output": 25.0},
    "claude-opus-4-1": {"input": 15.0, "output": 75.0},
    "claude-opus-4": {"input": 15.0, "output": 75.0},
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4": {"input": 3.0, "output": 15.0},
    "claude-3-7-sonnet": {"input": 3.0, "output": 15.0},
    "claude-3-5-sonnet": {"input": 3.0, "output": 15.0},
    "claude-haiku-4-5": {"input": 1.0, "output": 5.0},
    "claude-3-5-haiku": {"input": 0.80, "output": 4.0},
    "claude-3-haiku": {"input": 0.25, "output": 1.25},
}


@dataclass(frozen=True)
class Price:
    input: float  # USD per 1M input tokens
    output: float  # USD per 1M output tokens
    known: bool = True

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return round((tokens_in * self.input + tokens_out * self.output) / 1_000_000, 6)


FREE = Price(0.0, 0.0)
UNKNOWN = Price(0.0, 0.0, known=False)


def table(overrides: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Price]:
    """The built-in prices with the deployment's overrides (REVOS_AI_PRICES) on top."""
    merged = {name: dict(p) for name, p in DEFAULT_PRICES.items()}
    for name, p in (overrides or {}).items():
        merged[name.lower()] = {**merged.get(name.lower(), {}), **p}
    return {
        name: Price(float(p.get("input", 0.0)), float(p.get("output", 0.0))) for name, p in merged.items()
    }


def price_of(model: str, prices: Mapping[str, Price]) -> Price:
    """The model's price: exact name, else the longest known prefix, else UNKNOWN (priced 0)."""
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" (OpenRouter) -> "gpt-4o"
    if name in prices:
        return prices[name]
    family = max((k for k in prices if name.startswith(k + "-")), key=len, default=None)
    return prices[family] if family else UNKNOWN
