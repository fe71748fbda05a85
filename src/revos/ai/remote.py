"""The `openai` and `anthropic` providers, through the vendors' official SDKs.

`openai` speaks Chat Completions to any compatible endpoint (OpenAI, Azure OpenAI's /openai/v1, Ollama,
vLLM, LM Studio, OpenRouter) given its base URL; `anthropic` speaks the Messages API.

Retries are ours, not the SDKs' (both are built with max_retries=0): a 408, 409, 429 or 5xx answer, a
timeout or a lost connection is retried up to `retries` times, waiting the answer's Retry-After when it
gives one, else base * 2^attempt (plus up to 20% jitter), never more than `retry_max` seconds. Anything
else (400, 401, 403, 404, 422) fails at once. Either way the caller gets an AiError whose message names
the provider, model, status and the provider's own words, with the API key masked wherever it appears.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from revos.ai.base import AiError, Completion, CompletionRequest
from revos.ai.prices import Price, price_of
from revos.clock import utcnow

T = TypeVar("T")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
TRANSIENT_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class Endpoint:
    """Where and how a remote provider is reached (the key is held here only while a call runs)."""

    provider: str  # "openai" | "anthropic"
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = 60.0
    retries: int = 3
    retry_base: float = 1.0
    retry_max: float = 30.0

    def __repr__(self) -> str:  # never the key, whatever prints or logs this
        return f"Endpoint(provider={self.provider!r}, model={self.model!r}, base_url={self.base_url!r})"


def mask(text: str, secret: str | None) -> str:
    """`text` with `secret` (and its distinctive tail, which vendors echo: "sk-...abcd") replaced."""
    if not secret or len(secret) < 4:
        return text
    text = text.replace(secret, "***")
    return text.replace(secret[-4:], "***") if len(secret) >= 12 else text


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the provider asks us to wait (retry-after-ms, retry-after in seconds or as a date)."""
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError, OverflowError):
        return None


class _Remote(ABC):
    name = "remote"
    sdk: Any  # the SDK module (openai / anthropic), imported when the provider is built

    def __init__(self, endpoint: Endpoint, prices: Mapping[str, Price]) -> None:
        self.endpoint = endpoint
        self.model = endpoint.model
        self.price = price_of(endpoint.model, prices)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint!r})"

    @abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion:
        """One call to the vendor (each SDK provider says how), with our retries around it."""

    def _client_kwargs(self) -> dict[str, Any]:
        e = self.endpoint
        return {
            "api_key": e.api_key or "not-set",
            "base_url": e.base_url,
            "timeout": e.timeout,
            "max_retries": 0,
        }

    def _transient(self, exc: Exception) -> bool:
        if isinstance(exc, self.sdk.APIConnectionError):  # timeouts included
            return True
        status = getattr(exc, "status_code", None)
        return isinstance(status, int) and (status in TRANSIENT_STATUS or status >= 500)

    def _delay(self, exc: Exception, attempt: int) -> float:
        e = self.endpoint
        response = getattr(exc, "response", None)
        asked = retry_after(getattr(response, "headers", None))
        if asked is not None:
            return min(asked, e.retry_max)
        return min(e.retry_base * 2**attempt * (1 + random.uniform(0, 0.2)), e.retry_max)

    def _failure(self, exc: Exception, attempts: int) -> AiError:
        e = self.endpoint
        status = getattr(exc, "status_code", None)
        if isinstance(exc, self.sdk.APITimeoutError):
            what = f"did not answer within {e.timeout:g} s"
        elif isinstance(exc, self.sdk.APIConnectionError):
            what = "could not be reached"
        else:
            what = f"answered {status}: {_provider_message(exc)}"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        message = mask(f"{self.name} ({e.model}) {what}{tries}", e.api_key)
        detail = {"provider": self.name, "model": e.model, "status": status, "attempts": attempts}
        return AiError(message, detail=detail)

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await call()
            except self.sdk.APIError as exc:
                if not self._transient(exc) or attempt >= self.endpoint.retries:
                    raise self._failure(exc, attempt + 1) from None
                await asyncio.sleep(self._delay(exc, attempt))
                attempt += 1

    def _completion(self, texts: list[str], tokens_in: int, tokens_out: int, started: float) -> Completion:
        return Completion(
            texts=texts,
            provider=self.name,
            model=self.model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=int((time.perf_counter() - started) * 1000),
            cost_usd=self.price.cost(tokens_in, tokens_out),
        )


def _provider_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])[:500]
    return str(getattr(exc, "message", exc))[:500]


class OpenAIProvider(_Remote):
    name = "openai"

    def __init__(self, endpoint: Endpoint, prices: Mapping[str, Price]) -> None:
        import openai

        super().__init__(endpoint, prices)
        self.sdk = openai

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        client = self.sdk.AsyncOpenAI(**self._client_kwargs())
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.prompt},
            ],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        texts: list[str] = []
        tokens_in = tokens_out = 0
        try:
            while len(texts) < max(1, request.variants):
                wanted = max(1, request.variants) - len(texts)
                answer = await self._create(client, params, wanted)
                got = [(c.message.content or "").strip() for c in answer.choices or []]
                if not got:
                    raise AiError(
                        f"openai ({self.model}) answered without a choice", detail={"provider": "openai"}
                    )
                texts += got[:wanted]  # endpoints that ignore `n` (Ollama) answer one: ask again
                usage = answer.usage
                tokens_in += getattr(usage, "prompt_tokens", 0) or 0
                tokens_out += getattr(usage, "completion_tokens", 0) or 0
        finally:
            await client.close()
        return self._completion(texts, tokens_in, tokens_out, started)

    async def _create(self, client: Any, params: dict[str, Any], n: int) -> Any:
        """One Chat Completions call. Reasoning models (o-series, gpt-5) refuse `max_tokens` and any
        temperature but the default: told so in a 400, the call is made again as they want it (and
        `params` remembers, for the next variants)."""
        while True:  # each adaptation removes a parameter: at most two
            try:
                return await self._with_retries(lambda: client.chat.completions.create(**params, **_n(n)))
            except AiError as exc:
                said = exc.message if exc.detail and exc.detail.get("status") == 400 else ""
                if "max_completion_tokens" in said and "max_tokens" in params:
                    params["max_completion_tokens"] = params.pop("max_tokens")
                elif "temperature" in said and "temperature" in params:
                    del params["temperature"]
                else:
                    raise


def _n(n: int) -> dict[str, int]:
    return {"n": n} if n > 1 else {}


class AnthropicProvider(_Remote):
    name = "anthropic"

    def __init__(self, endpoint: Endpoint, prices: Mapping[str, Price]) -> None:
        import anthropic

        super().__init__(endpoint, prices)
        self.sdk = anthropic

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        client = self.sdk.AsyncAnthropic(**self._client_kwargs())
        texts: list[str] = []
        tokens_in = tokens_out = 0
        try:
            for _ in range(max(1, request.variants)):  # the Messages API has no `n`

                async def call() -> Any:
                    return await client.messages.create(
                        model=self.model,
                        system=request.system,
                        messages=[{"role": "user", "content": request.prompt}],
                        max_tokens=request.max_tokens,
                    )  # no temperature: this SDK's Messages API leaves sampling to the model

                answer = await self._with_retries(call)
                texts.append(
                    "".join(b.text for b in answer.content if getattr(b, "type", "") == "text").strip()
                )
                tokens_in += answer.usage.input_tokens or 0
                tokens_out += answer.usage.output_tokens or 0
        finally:
            await client.close()
        return self._completion(texts, tokens_in, tokens_out, started)


PROVIDERS: dict[str, type[_Remote]] = {"openai": OpenAIProvider, "anthropic": AnthropicProvider}
