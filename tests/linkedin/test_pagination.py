"""Cursor iteration: follows cursors verbatim, stops on null, refuses loops, closes early exits cleanly."""

from __future__ import annotations

import pytest

from revos.linkedin import UnipileProtocolError
from revos.linkedin.pagination import iterate_items, iterate_pages


class FakeServer:
    def __init__(self, pages: dict[str | None, tuple[list[int], str | None]]) -> None:
        self.pages = pages
        self.calls: list[str | None] = []

    async def fetch(self, cursor: str | None) -> tuple[list[int], str | None]:
        self.calls.append(cursor)
        return self.pages[cursor]


async def test_follows_cursors_until_null() -> None:
    server = FakeServer({None: ([1, 2], "c1"), "c1": ([3], "c2"), "c2": ([4, 5], None)})
    assert [i async for i in iterate_items(server.fetch)] == [1, 2, 3, 4, 5]
    assert server.calls == [None, "c1", "c2"]


async def test_empty_string_cursor_means_done() -> None:
    server = FakeServer({None: ([1], "")})
    assert [i async for i in iterate_items(server.fetch)] == [1]


async def test_empty_page_with_cursor_keeps_going() -> None:
    # LinkedIn sometimes returns an empty page mid-stream; the cursor, not the item count, says "done".
    server = FakeServer({None: ([], "c1"), "c1": ([7], None)})
    assert [i async for i in iterate_items(server.fetch)] == [7]


async def test_repeated_cursor_is_a_protocol_error() -> None:
    server = FakeServer({None: ([1], "c1"), "c1": ([2], "c1")})
    with pytest.raises(UnipileProtocolError):
        _ = [i async for i in iterate_items(server.fetch)]
    assert server.calls == [None, "c1"]


async def test_limits_stop_early_without_fetching_more() -> None:
    server = FakeServer({None: ([1, 2], "c1"), "c1": ([3, 4], "c2"), "c2": ([5], None)})
    assert [i async for i in iterate_items(server.fetch, max_items=3)] == [1, 2, 3]
    assert server.calls == [None, "c1"]
    server.calls.clear()
    assert [p async for p in iterate_pages(server.fetch, max_pages=1)] == [[1, 2]]
    assert server.calls == [None]
