"""The openai and anthropic providers through the official SDKs against the local stand-in: answers with
usage and cost, retries on 429/5xx/timeouts, a clear error for what retrying cannot fix."""

from __future__ import annotations

import logging
import time

import anthropic
import openai
import pytest

from revos.ai.base import AiError, CompletionRequest
from revos.ai.prices import UNKNOWN, price_of, table
from revos.ai.remote import PROVIDERS, Endpoint, mask, retry_after
from revos.ai.standin import StandIn
from tests.ai.conftest import KEY

REQUEST = CompletionRequest(
    system="You write LinkedIn posts.", prompt="Draft a post about outreach.", purpose="post"
)
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
ROUTES = {"openai": "chat", "anthropic": "messages"}


def _provider(name: str, url: str, *, key: str = KEY, retries: int = 2, timeout: float = 2.0):  # type: ignore[no-untyped-def]
    base = f"{url}/v1" if name == "openai" else url
    endpoint = Endpoint(
        name, MODELS[name], base, key, timeout=timeout, retries=retries, retry_base=0.01, retry_max=0.5
    )
    return PROVIDERS[name](endpoint, table())


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_an_answer_carries_texts_usage_latency_and_cost(
    standin: tuple[StandIn, str], name: str
) -> None:
    fake, url = standin
    fake.reply("First draft.", "Second draft.")
    completion = await _provider(name, url).complete(
        CompletionRequest(system="s", prompt="p", purpose="post", variants=2, max_tokens=300)
    )
    assert completion.texts == ["First draft.", "Second draft."]
    assert completion.provider == name
    assert completion.model == MODELS[name]
    assert completion.tokens_in > 0
    assert completion.tokens_out > 0
    assert completion.latency_ms >= 0
    price = price_of(MODELS[name], table())
    assert completion.cost_usd == pytest.approx(price.cost(completion.tokens_in, completion.tokens_out))
    assert completion.cost_usd > 0
    sent = [r["body"] for r in fake.requests if r["route"] == ROUTES[name]]
    assert sent[0]["model"] == MODELS[name]
    assert sent[0]["max_tokens"] == 300
    if name == "openai":
        assert sent[0]["n"] == 2
        assert sent[0]["messages"][0] == {"role": "system", "content": "s"}
    else:
        assert len(sent) == 2
        assert sent[0]["system"] == "s"


@pytest.mark.parametrize("name", ["openai", "anthropic"])
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_transient_error_is_retried_then_succeeds(
    standin: tuple[StandIn, str], name: str, status: int
) -> None:
    fake, url = standin
    fake.fail(status, retry_after=0.2 if status == 429 else None)
    started = time.perf_counter()
    completion = await _provider(name, url).complete(REQUEST)
    assert completion.text
    assert fake.count(ROUTES[name]) == 2
    if status == 429:
        assert time.perf_counter() - started >= 0.2, "Retry-After was honoured"


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_a_timeout_is_retried_and_gives_up_with_a_clear_error(
    standin: tuple[StandIn, str], name: str
) -> None:
    fake, url = standin
    fake.slow(1.0, times=1)
    assert (await _provider(name, url, timeout=0.3).complete(REQUEST)).text  # slow once, then fine
    assert fake.count(ROUTES[name]) == 2

    fake.slow(1.0, times=10)
    with pytest.raises(AiError) as caught:
        await _provider(name, url, timeout=0.3, retries=2).complete(REQUEST)
    assert str(caught.value) == f"{name} ({MODELS[name]}) did not answer within 0.3 s after 3 attempts"
    assert caught.value.status_code == 502
    assert caught.value.code == "ai_provider_error"
    assert caught.value.detail == {"provider": name, "model": MODELS[name], "status": None, "attempts": 3}


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_retries_stop_after_the_configured_attempts(standin: tuple[StandIn, str], name: str) -> None:
    fake, url = standin
    fake.fail(500, times=5)
    with pytest.raises(AiError, match=r"answered 500: .* after 3 attempts"):
        await _provider(name, url, retries=2).complete(REQUEST)
    assert fake.count(ROUTES[name]) == 3


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_a_wrong_key_fails_at_once_and_the_key_is_never_shown(
    standin: tuple[StandIn, str], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = standin
    wrong = "sk-wrong-9b8a7c6d5e4f3a2b"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AiError) as caught:
        await _provider(name, url, key=wrong).complete(REQUEST)
    assert fake.count(ROUTES[name]) == 1, "a 401 is not retried"
    message = str(caught.value)
    assert message.startswith(f"{name} ({MODELS[name]}) answered 401: ")
    assert caught.value.detail["status"] == 401
    for leaked in (wrong, wrong[-4:], KEY):
        assert leaked not in message
        assert leaked not in repr(caught.value.detail)
        assert leaked not in caplog.text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_a_bad_request_is_not_retried(standin: tuple[StandIn, str], name: str) -> None:
    fake, url = standin
    fake.fail(400, message="max_tokens is too large for this model")
    with pytest.raises(AiError, match=r"answered 400: max_tokens is too large for this model$"):
        await _provider(name, url).complete(REQUEST)
    assert fake.count(ROUTES[name]) == 1


async def test_an_unreachable_endpoint_is_an_ai_error() -> None:
    endpoint = Endpoint(
        "openai", "gpt-4o-mini", "http://127.0.0.1:9/v1", KEY, timeout=0.5, retries=1, retry_base=0.01
    )
    with pytest.raises(AiError, match=r"could not be reached after 2 attempts"):
        await PROVIDERS["openai"](endpoint, table()).complete(REQUEST)


async def test_the_stand_in_serves_embeddings_to_the_sdk(standin: tuple[StandIn, str]) -> None:
    _, url = standin
    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    async with client:
        answer = await client.embeddings.create(
            model="text-embedding-3-small", input=["reply rate", "reply rates up"]
        )
        small = await client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=256)
    assert [len(d.embedding) for d in answer.data] == [1536, 1536]
    assert len(small.data[0].embedding) == 256
    assert answer.usage.prompt_tokens > 0
    a, b = (d.embedding for d in answer.data)
    assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.3  # shared words point alike


async def test_the_stand_in_speaks_the_anthropic_error_contract(standin: tuple[StandIn, str]) -> None:
    fake, url = standin
    fake.fail(429, retry_after=7)
    client = anthropic.AsyncAnthropic(base_url=url, api_key=KEY, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    await client.close()
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": caught.value.body["error"]["message"]},
    }  # type: ignore[index]


def test_prices_match_dated_models_and_accept_overrides() -> None:
    prices = table({"llama3.1": {"input": 0.0, "output": 0.0}, "gpt-4o-mini": {"input": 0.2}})
    assert price_of("gpt-4o-mini-2024-07-18", prices).input == 0.2
    assert price_of("gpt-4o-mini-2024-07-18", prices).output == 0.60
    assert price_of("claude-sonnet-4-5-20250929", prices).cost(1_000_000, 1_000_000) == 18.0
    assert price_of("openai/gpt-4o", prices).input == 2.5
    assert price_of("llama3.1", prices).known
    assert price_of("mystery-model", prices) == UNKNOWN


def test_retry_after_and_masking() -> None:
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None
    assert mask(f"bad key {KEY} (…{KEY[-4:]})", KEY) == "bad key *** (…***)"


async def test_reasoning_models_get_max_completion_tokens_and_their_default_temperature(
    standin: tuple[StandIn, str],
) -> None:
    fake, url = standin
    endpoint = Endpoint("openai", "o4-mini", f"{url}/v1", KEY, retries=0)
    completion = await PROVIDERS["openai"](endpoint, table()).complete(
        CompletionRequest(system="s", prompt="p", purpose="post", max_tokens=300, variants=2)
    )
    assert len(completion.texts) == 2
    sent = [r["body"] for r in fake.requests]
    assert "max_tokens" in sent[0]
    assert sent[-1]["max_completion_tokens"] == 300
    assert "max_tokens" not in sent[-1]
    assert "temperature" not in sent[-1]
    assert len(sent) == 3  # refused twice, told why each time, then answered
