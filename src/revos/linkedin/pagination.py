"""Cursor pagination: turn a page fetcher into an async iterator.

Cursors are opaque (spec §2): we only ever hand back what the server gave us. A server that returns the
same cursor twice would make a naive loop spin forever and burn the account's daily read budget, so a
repeated cursor is treated as a protocol error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TypeVar

from revos.linkedin.errors import UnipileProtocolError

T = TypeVar("T")

Page = tuple[list[T], str | None]
PageFetcher = Callable[[str | None], Awaitable[Page[T]]]


async def iterate_pages(
    fetch: PageFetcher[T], *, max_pages: int | None = None
) -> AsyncGenerator[list[T], None]:
    """Yield each page's items, following `cursor` until it is null/empty (or `max_pages` is reached)."""
    cursor: str | None = None
    seen: set[str] = set()
    pages = 0
    while True:
        items, next_cursor = await fetch(cursor)
        pages += 1
        yield items
        if not next_cursor or (max_pages is not None and pages >= max_pages):
            return
        if next_cursor in seen:
            raise UnipileProtocolError(
                "Pagination loop", detail="the server returned a cursor it had already returned"
            )
        seen.add(next_cursor)
        cursor = next_cursor


async def iterate_items(
    fetch: PageFetcher[T], *, max_pages: int | None = None, max_items: int | None = None
) -> AsyncGenerator[T, None]:
    """Yield items one by one across pages."""
    count = 0
    # aclosing: stopping early must close the page generator now, not whenever it is garbage collected.
    async with aclosing(iterate_pages(fetch, max_pages=max_pages)) as pages:
        async for items in pages:
            for item in items:
                if max_items is not None and count >= max_items:
                    return
                count += 1
                yield item
