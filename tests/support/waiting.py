"""Waiting on what another task on the loop (a server, a worker) does next."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# A ceiling on waiting for something that happens in milliseconds on an idle machine: it only bounds a
# test whose awaited event never comes, so it can be generous.
EVENTUALLY_SECONDS = 30.0


async def eventually(check: Callable[[], bool], what: str, *, within: float = EVENTUALLY_SECONDS) -> None:
    """Poll `check` until it holds: for what another task on the loop (a server, a worker) does next, so a
    test waits on progress rather than on how fast the machine happens to be."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within:g} s: {what}")
        await asyncio.sleep(0.01)
