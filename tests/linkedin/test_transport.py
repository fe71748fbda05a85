"""The client's HTTP transport (aiohttp under httpx) against raw TCP servers that misbehave on purpose.

What matters is the one question exactly-once rests on: could the request have left? A connection that
closes after reading the request, a broken response, or a response that stops half-way may all come after
Unipile acted: a send is then ambiguous, never "not sent". And a normal exchange still works: a pooled
connection is reused, a gzip body is decoded, a multipart upload arrives whole.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

import pytest

from revos.linkedin import ProviderTimeout, UnipileClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + (await reader.readexactly(length) if length else b"")


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server running `handler` per connection; yields its URL and the list of connections."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection: what these servers wait for
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", connections


def _response(body: bytes, *, headers: dict[str, str] | None = None, status: str = "201 Created") -> bytes:
    head = {"content-type": "application/json", "content-length": str(len(body)), **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return f"HTTP/1.1 {status}\r\n{lines}\r\n".encode() + body


# Both ways a request leaves: a multipart body (DMs, posts: encoded by httpx) and a JSON body (comments,
# reactions: sent by aiohttp directly).
SENDS: dict[str, Callable[[UnipileClient], Awaitable[object]]] = {
    "multipart": lambda client: client.send_message("chat-1", "hello"),
    "json": lambda client: client.comment("urn:li:activity:1", "acc-1", "hello"),
}
sends = pytest.mark.parametrize("how", list(SENDS))


async def _send(url: str, how: str) -> ProviderTimeout:
    async with UnipileClient(url, "key", timeout=5.0) as client:
        with pytest.raises(ProviderTimeout) as info:
            await SENDS[how](client)
    return info.value


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"", id="closed-after-the-request"),
        pytest.param(b"this is not HTTP\r\n\r\n", id="not-http"),
        pytest.param(b'HTTP/1.1 201 Created\r\ncontent-length: 500\r\n\r\n{"obje', id="cut-short"),
    ],
)
@sends
async def test_a_send_that_may_have_left_is_ambiguous(answer: bytes, how: str) -> None:
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await _read_request(reader))
        writer.write(answer)
        await writer.drain()

    async with tcp_server(handler) as (url, _):
        error = await _send(url, how)
    assert error.ambiguous  # reconciled before anything is sent again
    assert not error.retryable
    assert len(received) == 1
    assert b"hello" in received[0]


@sends
async def test_a_send_nobody_reads_times_out_ambiguous(how: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await reader.read()  # never answers; returns once the client gives up and closes

    async with tcp_server(handler) as (url, _), UnipileClient(url, "key", timeout=0.5) as client:
        with pytest.raises(ProviderTimeout) as info:
            await SENDS[how](client)
    assert info.value.ambiguous
    assert info.value.type == "client/timeout"


@sends
async def test_a_connection_refused_is_not_sent(how: str) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    error = await _send(f"http://127.0.0.1:{port}", how)
    assert not error.ambiguous
    assert error.retryable


async def test_connections_are_reused_and_bodies_decoded() -> None:
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            requests.append(await _read_request(reader))
            body = gzip.compress(json.dumps({"object": "MessageSent", "message_id": "m-1"}).encode())
            writer.write(_response(body, headers={"content-encoding": "gzip"}))
            await writer.drain()

    async with tcp_server(handler) as (url, connections), UnipileClient(url, "key", timeout=5.0) as client:
        for _ in range(5):
            sent = await client.send_message("chat-1", "hello")
            assert sent.message_id == "m-1"
    assert len(requests) == 5
    assert len(connections) == 1  # one pooled connection for five calls in a row
    head = requests[0].split(b"\r\n\r\n")[0].lower()
    assert b"x-api-key: key" in head
    assert b"post /api/v1/chats/chat-1/messages" in head


async def test_json_sends_and_reads_share_the_pool_and_are_encoded_as_httpx_encodes_them() -> None:
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await _read_request(reader)
            requests.append(request)
            if request.startswith(b"GET"):
                answer = {"object": "CommentList", "items": [], "cursor": None}
                writer.write(_response(json.dumps(answer).encode(), status="200 OK"))
            elif b"/chats/" in request.split(b"\r\n")[0]:
                writer.write(_response(json.dumps({"object": "MessageSent", "message_id": "m-1"}).encode()))
            else:
                body = gzip.compress(json.dumps({"object": "CommentSent", "comment_id": "c-1"}).encode())
                writer.write(_response(body, headers={"content-encoding": "gzip"}))
            await writer.drain()

    async with tcp_server(handler) as (url, connections), UnipileClient(url, "key", timeout=5.0) as client:
        for _ in range(3):
            sent = await client.comment("urn:li:activity:7", "acc-1", "Ça marche, merci !")
            assert sent.comment_id == "c-1"
        comments, cursor = await client.list_comments("urn:li:activity:7", "acc 1", limit=50, cursor="a/b+c")
        assert (comments, cursor) == ([], None)
        assert (await client.send_message("chat-1", "hello")).message_id == "m-1"
    assert len(requests) == 5
    assert len(connections) == 1  # JSON sends, a read and a multipart send over one pooled connection
    head, _, body = requests[0].partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    assert lines[0] == b"post /api/v1/posts/urn:li:activity:7/comments http/1.1"
    assert b"x-api-key: key" in lines
    assert b"content-type: application/json" in lines
    assert json.loads(body) == {"account_id": "acc-1", "text": "Ça marche, merci !"}
    assert body == json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    method, target, _ = requests[3].split(b"\r\n")[0].decode().split(" ")
    path, _, query = target.partition("?")
    assert (method, path) == ("GET", "/api/v1/posts/urn:li:activity:7/comments")
    assert parse_qs(query) == {"account_id": ["acc 1"], "limit": ["50"], "cursor": ["a/b+c"]}


async def test_a_multipart_send_arrives_whole_with_its_fields_and_attachment() -> None:
    requests: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            requests.append(await _read_request(reader))
            writer.write(_response(json.dumps({"object": "MessageSent", "message_id": "m-1"}).encode()))
            await writer.drain()

    pdf = b"%PDF-1.4\r\n" + bytes(range(256)) * 40  # binary, with CRLFs inside
    async with tcp_server(handler) as (url, _), UnipileClient(url, "key", timeout=5.0) as client:
        sent = await client.send_message(
            "chat-1",
            "Voilà le guide",
            account_id="acc-1",
            attachments=[("guide.pdf", pdf, "application/pdf")],
        )
    assert sent.message_id == "m-1"
    [request] = requests
    head, _, body = request.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["x-api-key"] == "key"
    assert int(headers["content-length"]) == len(body)
    message = email.message_from_bytes(
        f"content-type: {headers['content-type']}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    assert message.get_content_type() == "multipart/form-data"
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    assert parts["text"].get_payload(decode=True).decode() == "Voilà le guide"  # UTF-8, as httpx sends it
    assert parts["account_id"].get_payload(decode=True) == b"acc-1"
    attachment = parts["attachments"]
    assert attachment.get_filename() == "guide.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == pdf
