"""`UnipileClient`: the async Unipile v1 client revOS uses for every LinkedIn action.

    async with UnipileClient("api1.unipile.com:13111", api_key) as unipile:
        post = await unipile.get_post("7332661864792854528", account_id)
        async for comment in unipile.iter_comments(post.social_id, account_id, include_replies=True):
            ...

Naming: `list_*` returns one page as `(items, next_cursor)`; `iter_*` is an async iterator over all pages.
Reads are retried on 429/5xx/transport errors with jittered exponential backoff; sends never are (see
`_http.py`). Every failure is a `revos.linkedin.errors.UnipileError` subclass.
"""

from __future__ import annotations

from revos.linkedin.accounts import AccountsAPI
from revos.linkedin.messaging import MessagingAPI
from revos.linkedin.posts import PostsAPI


class UnipileClient(AccountsAPI, PostsAPI, MessagingAPI):
    """One pooled HTTP connection set per instance: create it once per process and share it."""

    async def __aenter__(self) -> UnipileClient:
        return self
