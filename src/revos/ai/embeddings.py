"""Embeddings: the `Embedder` interface, the bundled `wordllama` model (the default) and OpenAI's.

Every vector is stored as the spec's `vector(1536)`: shorter ones are zero-padded (`pad`), which leaves
cosine similarity unchanged. `signature(embedder)` names the vector space a vector belongs to; it is
recorded with each vector, so vectors of two models are never compared (a change of model re-embeds).

`wordllama` (the `l2_supercat` model, 256 dimensions) ships its weights and tokenizer inside its wheel:
they are loaded from the installed package, never downloaded. (`WordLlama.load()` looks for the bundled
tokenizer in a folder that does not exist and then tries to fetch it, and importing the package
configures the root logger, so neither is used: the model is an embedding table, a tokenizer and a mean
over the tokens, computed here exactly as WordLlama computes it.) The work runs in a thread, off the
event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from revos.ai.base import AiError
from revos.config import Settings
from revos.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

VECTOR_DIMENSIONS = 1536
WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIMENSIONS = 256
# Tokens of one text taken into its mean: WordLlama itself does not truncate, and one very long text
# would make its whole batch that long.
WORDLLAMA_MAX_TOKENS = 1024
OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
# OpenAI's own limit on the inputs of one request.
OPENAI_MAX_BATCH = 2048


class Embedder(Protocol):
    name: str
    model: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def signature(embedder: Embedder) -> str:
    """The vector space of an embedder's vectors, e.g. 'wordllama/l2_supercat/256'."""
    return f"{embedder.name}/{embedder.model}/{embedder.dimensions}"


def pad(vector: Sequence[float], size: int = VECTOR_DIMENSIONS) -> list[float]:
    """`vector` followed by zeros up to `size` (cosine similarity with other padded vectors is unchanged)."""
    if len(vector) > size:
        raise ValueError(f"a {len(vector)}-dimension vector does not fit in {size}")
    return [float(x) for x in vector] + [0.0] * (size - len(vector))


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


@dataclass(frozen=True)
class _WordLlamaModel:
    table: np.ndarray  # (vocabulary, dimensions) float32
    tokenizer: Any  # tokenizers.Tokenizer

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = np.array([e.ids for e in encoded], dtype=np.int32)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        np.clip(ids, 0, self.table.shape[0] - 1, out=ids)
        summed = np.einsum("btd,bt->bd", self.table[ids], mask, dtype=np.float32)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        # A text without a single token (empty) stays the zero vector instead of dividing by zero.
        unit = np.divide(pooled, norms, out=np.zeros_like(pooled), where=norms > 0)
        return [[float(x) for x in row] for row in unit]


_model: _WordLlamaModel | None = None
_model_lock = threading.Lock()


def wordllama_files() -> tuple[Path, Path]:
    """The weights and tokenizer files shipped in the installed wordllama wheel."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the wordllama package is not installed (pip install wordllama)")
    root = Path(next(iter(spec.submodule_search_locations)))
    weights = root / "weights" / f"{WORDLLAMA_CONFIG}_{WORDLLAMA_DIMENSIONS}.safetensors"
    tokenizer = root / "tokenizers" / f"{WORDLLAMA_CONFIG}_tokenizer_config.json"
    for path in (weights, tokenizer):
        if not path.is_file():
            raise ConfigError(f"the wordllama wheel lacks {path.name}: reinstall wordllama")
    return weights, tokenizer


def _load_wordllama() -> _WordLlamaModel:
    global _model
    with _model_lock:
        if _model is None:
            import numpy as np
            from safetensors import safe_open
            from tokenizers import Tokenizer

            weights, tokenizer_file = wordllama_files()
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
            tokenizer.enable_padding()
            tokenizer.enable_truncation(max_length=WORDLLAMA_MAX_TOKENS)
            with safe_open(str(weights), framework="np", device="cpu") as f:
                table = np.ascontiguousarray(f.get_tensor("embedding.weight").astype(np.float32))
            _model = _WordLlamaModel(table, tokenizer)
        return _model


class WordLlamaEmbedder:
    """The default: 256 dimensions, about 20,000 short texts a second on one core, no network."""

    name = "wordllama"
    model = WORDLLAMA_CONFIG
    dimensions = WORDLLAMA_DIMENSIONS

    def __init__(self, batch_size: int = 256) -> None:
        self.batch_size = batch_size

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        model = _load_wordllama()
        out: list[list[float]] = []
        for batch in _batches(texts, self.batch_size):
            out.extend(model.embed(batch))
        return out

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self.embed_sync, list(texts))


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint through the official SDK (retries are the SDK's:
    429, 5xx, timeouts and connection errors, with backoff)."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None,
        dimensions: int | None,
        batch_size: int,
        timeout: float,
        retries: int,
    ) -> None:
        from openai import AsyncOpenAI

        self.model = model
        # text-embedding-3 models answer 1536 dimensions unless asked for fewer.
        self.dimensions = dimensions or VECTOR_DIMENSIONS
        self._ask_dimensions = dimensions
        self.batch_size = min(batch_size, OPENAI_MAX_BATCH)
        self._client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries)

    async def _request(self, batch: list[str]) -> list[list[float]]:
        import openai

        extra: dict[str, Any] = {"dimensions": self._ask_dimensions} if self._ask_dimensions else {}
        try:
            answer = await self._client.embeddings.create(model=self.model, input=batch, **extra)
        except openai.APIError as exc:
            raise AiError(f"embeddings provider failed: {exc.__class__.__name__}: {exc}") from exc
        vectors = [item.embedding for item in sorted(answer.data, key=lambda d: d.index)]
        if len(vectors) != len(batch):
            raise AiError(f"embeddings provider answered {len(vectors)} vectors for {len(batch)} texts")
        for vector in vectors:
            if len(vector) != self.dimensions:
                raise AiError(
                    f"embeddings provider answered {len(vector)} dimensions, expected {self.dimensions}"
                    " (set REVOS_EMBEDDING_DIMENSIONS)"
                )
        return vectors

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for batch in _batches(texts, self.batch_size):
            out.extend(await self._request(batch))
        return out


_embedders: dict[tuple[Any, ...], Embedder] = {}


def embedder(settings: Settings) -> Embedder:
    """The deployment's embedder (one per configuration and process: the model and HTTP client are kept)."""
    key_secret = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
    key = (
        settings.embedding_provider,
        settings.embedding_model,
        settings.embedding_base_url,
        key_secret,
        settings.embedding_dimensions,
        settings.embedding_batch_size,
        settings.embedding_timeout_seconds,
        settings.embedding_retries,
    )
    found = _embedders.get(key)
    if found is not None:
        return found
    made: Embedder
    if settings.embedding_provider == "wordllama":
        made = WordLlamaEmbedder(batch_size=settings.embedding_batch_size)
    else:
        if not key_secret:
            raise ConfigError("REVOS_EMBEDDING_PROVIDER=openai needs REVOS_EMBEDDING_API_KEY")
        made = OpenAIEmbedder(
            model=settings.embedding_model or OPENAI_DEFAULT_MODEL,
            api_key=key_secret,
            base_url=settings.embedding_base_url,
            dimensions=settings.embedding_dimensions,
            batch_size=settings.embedding_batch_size,
            timeout=settings.embedding_timeout_seconds,
            retries=settings.embedding_retries,
        )
    _embedders[key] = made
    return made
