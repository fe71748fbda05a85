"""Reading people's text: trigger words in comments (`triggers`), email addresses in replies (`emails`).

A leaf package: it imports nothing of the engine, so any domain (and `bench/`) can use it.
"""

from __future__ import annotations


def excerpt(text: str | None, limit: int = 160) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis: how a comment or a reply is quoted
    on a lead's timeline."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
