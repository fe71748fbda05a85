"""A local stand-in for the AI vendors' HTTP APIs, as revos.sim is for Unipile: the demo and the tests
point the official SDKs at it.

One server speaks OpenAI's `POST /v1/chat/completions` and `POST /v1/embeddings` and Anthropic's
`POST /v1/messages`, with the vendors' JSON bodies (usage included) and error bodies. Faults are
programmable: `fail(429, retry_after=1)`, `fail(500)`, `fail(401)`, `slow(5)` (answers late, for client
timeouts), each for `times` requests and optionally one route. `reply("text")` scripts the next
answers; otherwise the answer is a deterministic draft built from the prompt.

    standin = StandIn(api_key="sk-test")
    async with serve(standin) as url:   # OpenAI base_url: url + "/v1"; Anthropic base_url: url
        ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import math
import re
import struct
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from revos.ai.base import estimate_tokens

ROUTES = ("chat", "embeddings", "messages")
_REASONS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 503: "api_error",
            529: "overloaded_error"}  # fmt: skip


@dataclass
class Fault:
    status: int  # 0: no error, only the delay
    times: int = 1
    route: str | None = None  # one of ROUTES, None: any
    retry_after: float | None = None
    delay: float = 0.0
    message: str | None = None


@dataclass
class StandIn:
    api_key: str | None = None  # None: any key is accepted
    embedding_dimensions: int = 1536
    faults: list[Fault] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # route, body and key of every request
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def fail(self, status: int, *, times: int = 1, route: str | None = None, retry_after: float | None = None,
             message: str | None = None) -> None:  # fmt: skip
        self.faults.append(Fault(status, times, route, retry_after, 0.0, message))

    def slow(self, seconds: float, *, times: int = 1, route: str | None = None) -> None:
        self.faults.append(Fault(0, times, route, delay=seconds))

    def reply(self, *texts: str) -> None:
        self.replies.extend(texts)

    def count(self, route: str) -> int:
        return sum(1 for r in self.requests if r["route"] == route)

    def _fault(self, route: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.route in (None, route):
                fault.times -= 1
                return fault
        return None

    def _answer(self, prompt: str, model: str, index: int = 0) -> str:
        if self.replies:
            return self.replies.pop(0)
        lines = [ln.strip() for ln in prompt.splitlines() if ln.strip()]
        topic = lines[-1][:160] if lines else "your request"
        close = ("What would you add? I read every comment.", "Which part would you try first?")[index % 2]
        return f"Here is a first draft ({model}).\n\n{topic}\n\n{close}"


def _error_body(route: str, status: int, message: str) -> dict[str, Any]:
    kind = _REASONS.get(status, "api_error")
    if route == "messages":
        return {"type": "error", "error": {"type": kind, "message": message}}
    code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
    openai_type = {429: "requests", 500: "server_error"}.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": openai_type, "param": None, "code": code}}


def _default_message(route: str, status: int, key: str | None) -> str:
    if status == 401:
        shown = f"{key[:5]}****{key[-4:]}" if key and len(key) > 9 else "****"
        if route == "messages":
            return "invalid x-api-key"
        return f"Incorrect API key provided: {shown}. You can find your API key in your account settings."
    return {
        400: "Invalid request: check the parameters.",
        429: "Rate limit reached for requests. Please try again in a moment.",
        500: "The server had an error while processing your request. Sorry about that!",
    }.get(status, f"Error {status}")


def _reasoning_refusal(route: str, body: dict[str, Any]) -> str | None:
    """OpenAI's reasoning models refuse `max_tokens` and a temperature other than 1 (with these words)."""
    if route != "chat" or not str(body.get("model", "")).startswith(("o1", "o3", "o4", "gpt-5")):
        return None
    if "max_tokens" in body:
        return (
            "Unsupported parameter: 'max_tokens' is not supported with this model."
            " Use 'max_completion_tokens' instead."
        )
    if body.get("temperature") not in (None, 1):
        return (
            f"Unsupported value: 'temperature' does not support {body['temperature']} with this model."
            " Only the default (1) value is supported."
        )
    return None


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector from the text's words (hashed bag of words): texts sharing words point alike."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "big") % dimensions
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def create_app(standin: StandIn) -> FastAPI:
    app = FastAPI(title="revOS AI stand-in", openapi_url=None, docs_url=None, redoc_url=None)

    async def guard(route: str, request: Request) -> tuple[dict[str, Any], JSONResponse | None]:
        body = await request.json()
        seen: dict[str, Any] = {"route": route, "body": body}
        standin.requests.append(seen)
        fault = standin._fault(route)
        if fault and fault.delay:  # answers late, or not at all if the server stops first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(standin.stopping.wait(), fault.delay)
        # OpenAI sends a bearer token; Anthropic's SDKs send x-api-key (older) or a bearer token (newer).
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or None
        key = request.headers.get("x-api-key") or bearer if route == "messages" else bearer
        seen["key"] = key
        status = fault.status if fault and fault.status else 0
        if not status and standin.api_key is not None and key != standin.api_key:
            status = 401
        if not status and (not body.get("model") or (route != "embeddings" and not body.get("messages"))):
            status = 400
        if not status and route == "messages" and not body.get("max_tokens"):
            status = 400
        message = fault.message if fault else None
        refusal = None if status else _reasoning_refusal(route, body)
        if refusal:
            status, message = 400, refusal
        if not status:
            return body, None
        message = message or _default_message(route, status, key)
        headers = {"retry-after": f"{fault.retry_after:g}"} if fault and fault.retry_after is not None else {}
        return body, JSONResponse(_error_body(route, status, message), status_code=status, headers=headers)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body, refused = await guard("chat", request)
        if refused:
            return refused
        messages = body["messages"]
        prompt = "\n".join(str(m.get("content") or "") for m in messages)
        user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
        texts = [standin._answer(user, body["model"], i) for i in range(int(body.get("n") or 1))]
        tokens_in = estimate_tokens(prompt) + 4 * len(messages)
        tokens_out = sum(estimate_tokens(t) for t in texts)
        return JSONResponse({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": "fp_standin",
            "choices": [{"index": i, "message": {"role": "assistant", "content": t, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"} for i, t in enumerate(texts)],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out},
        })  # fmt: skip

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> JSONResponse:
        body, refused = await guard("embeddings", request)
        if refused:
            return refused
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs or []]
        dims = int(body.get("dimensions") or standin.embedding_dimensions)
        data = []
        for i, text in enumerate(texts):
            vector: Any = embedding(text, dims)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = sum(estimate_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    @app.post("/v1/messages")
    async def messages(request: Request) -> JSONResponse:
        body, refused = await guard("messages", request)
        if refused:
            return refused
        user = "\n".join(_text_of(m.get("content")) for m in body["messages"] if m.get("role") == "user")
        text = standin._answer(user, body["model"])
        tokens_in = estimate_tokens(_text_of(body.get("system")) + user)
        return JSONResponse({
            "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": estimate_tokens(text)},
        })  # fmt: skip

    return app


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


class _QuietServer(uvicorn.Server):
    """Signals stay with whoever embeds the stand-in (pytest, the demo)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def serve(standin: StandIn, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `standin` on the running loop; yields its root URL (OpenAI's base_url is that + "/v1")."""
    server = _QuietServer(
        uvicorn.Config(create_app(standin), host=host, port=port, log_level="warning", access_log=False,
                       lifespan="off", ws="none", timeout_graceful_shutdown=1)
    )  # fmt: skip
    standin.stopping = asyncio.Event()  # of this loop
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the AI stand-in stopped before starting")
            await asyncio.sleep(0.005)
        bound = server.servers[0].sockets[0].getsockname()
        yield f"http://{host}:{bound[1]}"
    finally:
        standin.stopping.set()
        server.should_exit = True
        await task
