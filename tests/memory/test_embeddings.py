"""Embedders: the bundled wordllama model (no network, WordLlama's own numbers), OpenAI's through its SDK
against a local stand-in, padding to the spec's 1536 dimensions."""

from __future__ import annotations

import math
import socket
from typing import Any

import pytest

from revos.ai import embeddings
from revos.ai.base import AiError
from revos.config import Settings
from revos.errors import ConfigError
from tests.memory.standins import EmbeddingsStandIn, hashed_vector, serve


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_pad_fills_zeros_and_keeps_cosine() -> None:
    a, b = [0.3, -0.1, 0.7], [0.2, 0.5, -0.4]
    padded = embeddings.pad(a)
    assert len(padded) == 1536
    assert padded[:3] == a
    assert set(padded[3:]) == {0.0}
    assert cosine(embeddings.pad(a), embeddings.pad(b)) == pytest.approx(cosine(a, b))
    with pytest.raises(ValueError, match="does not fit"):
        embeddings.pad([0.0] * 1537)


async def test_wordllama_embeds_offline_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the embedder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(embeddings, "_model", None)  # load the files again, under the guard
    embedder = embeddings.WordLlamaEmbedder()
    close, related, unrelated = await embedder.embed(
        [
            "This post about cold email got 40 leads",
            "A LinkedIn post on cold outreach brought many leads",
            "The quarterly tax filing deadline for the accounting team",
        ]
    )
    assert len(close) == embedder.dimensions == 256
    assert math.sqrt(sum(x * x for x in close)) == pytest.approx(1.0, abs=1e-5)
    assert cosine(close, related) > cosine(close, unrelated) + 0.2
    assert embeddings.signature(embedder) == "wordllama/l2_supercat/256"


async def test_wordllama_vectors_are_wordllamas_own() -> None:
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    weights, tokenizer = embeddings.wordllama_files()
    with safe_open(str(weights), framework="np", device="cpu") as f:
        reference = WordLlamaInference(f.get_tensor("embedding.weight"), Tokenizer.from_file(str(tokenizer)))
    texts = ["Comment GUIDE and I will send it", "hello 🙂", "Short.", "A longer text, " * 40]
    ours = await embeddings.WordLlamaEmbedder(batch_size=2).embed(texts)
    theirs = reference.embed(texts, norm=True)
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine == pytest.approx(ref.tolist(), abs=1e-5)


async def test_an_empty_text_is_the_zero_vector_not_nan() -> None:
    [vector] = await embeddings.WordLlamaEmbedder().embed([""])
    assert vector == [0.0] * 256
    assert await embeddings.WordLlamaEmbedder().embed([]) == []


def test_the_embedder_is_built_once_per_configuration() -> None:
    settings = Settings()
    assert embeddings.embedder(settings) is embeddings.embedder(settings)
    assert isinstance(embeddings.embedder(settings), embeddings.WordLlamaEmbedder)
    with pytest.raises(ConfigError, match="EMBEDDING_API_KEY"):
        embeddings.embedder(Settings(embedding_provider="openai"))


def openai_settings(url: str, **extra: Any) -> Settings:
    values = {
        "embedding_provider": "openai",
        "embedding_base_url": f"{url}/v1",
        "embedding_api_key": "sk-test",
        "embedding_retries": 2,
        "embedding_timeout_seconds": 5,
    }
    return Settings(**(values | extra))


async def test_openai_embeddings_through_the_sdk_in_batches() -> None:
    standin = EmbeddingsStandIn()
    async with serve(standin.app()) as url:
        embedder = embeddings.embedder(openai_settings(url, embedding_batch_size=2))
        texts = ["one", "two", "three"]
        vectors = await embedder.embed(texts)
    assert [len(b["input"]) for b in standin.requests] == [2, 1]
    assert standin.requests[0]["model"] == "text-embedding-3-small"
    for vector, text in zip(vectors, texts, strict=True):
        assert vector == pytest.approx(hashed_vector(text, 1536), abs=1e-6)
    assert embeddings.signature(embedder) == "openai/text-embedding-3-small/1536"


async def test_openai_fewer_dimensions_are_asked_for_and_recorded() -> None:
    standin = EmbeddingsStandIn()
    async with serve(standin.app()) as url:
        embedder = embeddings.embedder(
            openai_settings(url, embedding_dimensions=512, embedding_model="m-small")
        )
        [vector] = await embedder.embed(["hello"])
    assert standin.requests[0]["dimensions"] == 512
    assert len(vector) == 512
    assert embeddings.signature(embedder) == "openai/m-small/512"


async def test_openai_retries_server_errors_then_gives_a_clear_error() -> None:
    standin = EmbeddingsStandIn(fail_next=2)
    async with serve(standin.app()) as url:
        embedder = embeddings.embedder(openai_settings(url, embedding_model="retry-model"))
        [vector] = await embedder.embed(["after two 500s"])
        assert len(vector) == 1536
        assert len(standin.requests) == 3
        standin.fail_next = 10
        with pytest.raises(AiError, match="embeddings provider failed") as caught:
            await embedder.embed(["down"])
    assert caught.value.status_code == 502
    assert caught.value.code == "ai_provider_error"


async def test_openai_wrong_dimensions_are_refused() -> None:
    standin = EmbeddingsStandIn(dimensions=3072)
    async with serve(standin.app()) as url:
        embedder = embeddings.embedder(openai_settings(url, embedding_model="text-embedding-3-large"))
        with pytest.raises(AiError, match="3072 dimensions"):
            await embedder.embed(["too long"])
