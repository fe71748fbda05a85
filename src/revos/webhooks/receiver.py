"""A local stand-in for a client's ESP: an HTTP/1.1 server on 127.0.0.1 (an OS-chosen port) that receives
webhook deliveries, as the demo's ESP and in the delivery tests and benchmark.

- Every request is recorded (method, path, headers, body) with whether its Standard Webhooks signature
  verified against `secret`; `count` and `rejected` keep counting when recording is off.
- With a `secret`, a delivery whose signature does not verify is refused with 401, as a real receiver
  would, and the distinct lead ids in verified events are collected in `leads`.
- `respond` is the usual answer: a fixed (status, headers, body) or a function of the request (a stand-in
  for an ESP's API). `answer_next(n, ...)` overrides it, and the 401, for the next n requests: another
  status, a delay before answering, or both.
- `down()` closes the listening socket and every open connection (connection refused) until `up()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from standardwebhooks import Webhook, WebhookVerificationError

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # None: no secret to check against; False: the signature did not verify.
    verified: bool | None = None


@dataclass(frozen=True)
class _Scripted:
    status: int | None
    headers: dict[str, str]
    body: bytes | None
    delay: float


@dataclass
class Receiver:
    secret: str | None = None
    respond: Callable[[Received], Answer] | Answer = (200, {}, b'{"ok":true}')
    record: bool = True
    requests: list[Received] = field(default_factory=list)
    leads: set[str] = field(default_factory=set)
    count: int = 0
    rejected: int = 0
    port: int = 0
    _script: deque[_Scripted] = field(default_factory=deque)
    _server: asyncio.Server | None = None
    _connections: dict[asyncio.StreamWriter, asyncio.Task[object]] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Receiver:
        # The port is kept across down()/up(), so a sender retrying the same URL finds it again.
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.down()

    async def down(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Keep-alive connections and answers still being delayed too: "down" means nothing answers any more.
        tasks = list(self._connections.values())
        for writer, task in list(self._connections.items()):
            task.cancel()
            writer.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None

    async def up(self) -> None:
        await self.start()

    async def __aenter__(self) -> Receiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def answer_next(
        self,
        times: int = 1,
        status: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` requests (after any already scripted) with `status`, `headers` and `body`,
        each after `delay` seconds; a missing status or body is taken from the usual answer."""
        self._script.extend(_Scripted(status, headers or {}, body, delay) for _ in range(times))

    async def wait_for(self, requests: int) -> None:
        """Until at least `requests` requests have arrived (bound it with asyncio.timeout)."""
        while self.count < requests:
            self._arrived.clear()
            await self._arrived.wait()

    def accept(self, request: Received) -> None:
        """Check the signature (when there is a secret) and count the request; collect the lead if it verified."""
        self.count += 1
        if self.secret is not None:
            try:
                payload = Webhook(self.secret).verify(request.body, request.headers)
            except (WebhookVerificationError, ValueError):  # ValueError: a malformed header or body
                request.verified = False
                self.rejected += 1
            else:
                request.verified = True
                data = payload.get("data") if isinstance(payload, dict) else None
                lead = data.get("lead") if isinstance(data, dict) else None
                if isinstance(lead, dict) and lead.get("id"):
                    self.leads.add(str(lead["id"]))
        if self.record:
            self.requests.append(request)
        self._arrived.set()

    def _answer(self, request: Received) -> tuple[Answer, float]:
        usual = self.respond(request) if callable(self.respond) else self.respond
        if self._script:
            scripted = self._script.popleft()
            status = usual[0] if scripted.status is None else scripted.status
            body = usual[2] if scripted.body is None else scripted.body
            return (status, {**usual[1], **scripted.headers}, body), scripted.delay
        if request.verified is False:
            return (401, {"Content-Type": "application/json"}, b'{"ok":false}'), 0.0
        return usual, 0.0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(method, path, headers, body)
                self.accept(request)
                (status, extra, answer), delay = self._answer(request)
                if delay:
                    await asyncio.sleep(delay)
                writer.write(_response_head(status, extra, len(answer)) + answer)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # Only down() cancels a connection; it must end quietly, as asyncio reports a cancelled
            # connection handler as an unhandled error.
            pass
        finally:
            self._connections.pop(writer, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _response_head(status: int, headers: dict[str, str], length: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
