"""The demo's ESP: a tiny HTTP receiver on loopback that checks each Standard Webhooks signature and counts
the distinct leads it was told about."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class WebhookReceiver:
    secret: str | None = None
    leads: set[str] = field(default_factory=set)
    received: int = 0
    rejected: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/esp/leads"

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    def accept(self, body: bytes, headers: dict[str, str]) -> bool:
        """Verify and count; False (and a 401 to the sender) when the signature does not hold."""
        self.received += 1
        if self.secret is None:
            self.rejected += 1
            return False
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            self.rejected += 1
            return False
        data = payload.get("data") if isinstance(payload, dict) else None
        lead = data.get("lead") if isinstance(data, dict) else None
        if isinstance(lead, dict) and lead.get("id"):
            self.leads.add(str(lead["id"]))
        return True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                ok = self.accept(body, headers)
                reply = json.dumps({"ok": ok}).encode()
                status = b"200 OK" if ok else b"401 Unauthorized"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(reply)).encode() + b"\r\n\r\n" + reply
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
