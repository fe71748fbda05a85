"""Posts, comments (with reply threads) and reactions.

Comment and reaction routes key on the post's `social_id` (`urn:li:activity:…`), not on the numeric id in
its URL (spec §6.1): callers fetch the post first and pass `post.social_id`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

from revos.linkedin._http import HttpCore, build_request, page_params, seg
from revos.linkedin.models import (
    Comment,
    CommentSent,
    ListPage,
    Post,
    PostCreated,
    PostReaction,
    ReactionAdded,
)
from revos.linkedin.pagination import iterate_items
from revos.linkedin.requests import (
    CommentRequest,
    CreatePostRequest,
    FileTuple,
    Mention,
    ReactionRequest,
    ReactionType,
)


class PostsAPI(HttpCore):
    async def create_post(
        self,
        account_id: str,
        text: str,
        *,
        attachments: Sequence[FileTuple] = (),
        external_link: str | None = None,
        as_organization: str | None = None,
    ) -> PostCreated:
        """Publish a post (multipart). `attachments` are (filename, bytes, mimetype) tuples."""
        form = build_request(
            CreatePostRequest,
            account_id=account_id,
            text=text,
            external_link=external_link,
            as_organization=as_organization,
        )
        result: PostCreated = await self._send("POST", "/posts", PostCreated, files=form.parts(attachments))
        return result

    async def repost(self, account_id: str, post_id: str, text: str = "") -> PostCreated:
        """Share an existing post in the account's feed (`POST /posts` with `repost`, spec §6.2): a plain
        repost with an empty `text`, else with `text` as commentary. `post_id` is the post's numeric id
        (a `urn:li:activity:` URN is reduced to it). The result's `post_id` is the repost's own id."""
        original = post_id.rsplit(":", 1)[-1] if post_id.startswith("urn:li:activity:") else post_id
        form = build_request(CreatePostRequest, account_id=account_id, text=text, repost=original)
        result: PostCreated = await self._send("POST", "/posts", PostCreated, files=form.parts())
        return result

    async def get_post(self, post_id: str, account_id: str) -> Post:
        """Post by numeric id (or URN). The response carries the `social_id` the comment routes need."""
        result: Post = await self._get(f"/posts/{seg(post_id)}", Post, {"account_id": account_id})
        return result

    async def list_user_posts(
        self,
        identifier: str,
        account_id: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        is_company: bool | None = None,
    ) -> tuple[list[Post], str | None]:
        params = {
            "account_id": account_id,
            "is_company": is_company,
            **page_params(limit, cursor, max_limit=100),
        }
        page: ListPage[Post] = await self._get(f"/users/{seg(identifier)}/posts", ListPage[Post], params)
        return page.items, page.cursor

    def iter_user_posts(
        self, identifier: str, account_id: str, *, limit: int = 100, is_company: bool | None = None
    ) -> AsyncIterator[Post]:
        return iterate_items(
            lambda cursor: self.list_user_posts(
                identifier, account_id, limit=limit, cursor=cursor, is_company=is_company
            )
        )

    async def list_comments(
        self,
        social_id: str,
        account_id: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        sort_by: str | None = None,
        comment_id: str | None = None,
    ) -> tuple[list[Comment], str | None]:
        """One page of top-level comments, or of the replies to `comment_id`."""
        params: dict[str, Any] = {
            "account_id": account_id,
            "sort_by": sort_by,
            "comment_id": comment_id,
            **page_params(limit, cursor, max_limit=100),
        }
        page: ListPage[Comment] = await self._get(
            f"/posts/{seg(social_id)}/comments", ListPage[Comment], params
        )
        return page.items, page.cursor

    async def iter_comments(
        self,
        social_id: str,
        account_id: str,
        *,
        limit: int = 100,
        sort_by: str | None = None,
        comment_id: str | None = None,
        include_replies: bool = False,
    ) -> AsyncGenerator[Comment, None]:
        """Every comment of the post across all pages; with `include_replies`, each reply thread is walked
        right after its parent comment (a trigger word is as likely in a reply as in a top-level comment).

        Reply threads are fetched only when `reply_counter` is missing or positive, so a post without
        replies costs no extra calls. Comments are yielded once even if pages overlap.
        """
        seen: set[str] = set()
        async with aclosing(
            self._walk(social_id, account_id, limit, sort_by, comment_id, include_replies, seen)
        ) as it:
            async for comment in it:
                yield comment

    async def _walk(
        self,
        social_id: str,
        account_id: str,
        limit: int,
        sort_by: str | None,
        parent_id: str | None,
        include_replies: bool,
        seen: set[str],
    ) -> AsyncGenerator[Comment, None]:
        pages = iterate_items(
            lambda cursor: self.list_comments(
                social_id, account_id, limit=limit, cursor=cursor, sort_by=sort_by, comment_id=parent_id
            )
        )
        async with aclosing(pages) as comments:
            async for comment in comments:
                # Some servers include the parent as the first item of its reply list; skip repeats.
                if comment.id in seen:
                    continue
                seen.add(comment.id)
                yield comment
                if include_replies and (comment.reply_counter is None or comment.reply_counter > 0):
                    replies = self._walk(social_id, account_id, limit, sort_by, comment.id, True, seen)
                    async with aclosing(replies) as thread:
                        async for reply in thread:
                            yield reply

    async def comment(
        self,
        social_id: str,
        account_id: str,
        text: str,
        *,
        comment_id: str | None = None,
        mentions: list[Mention] | None = None,
    ) -> CommentSent:
        """Comment on a post, or reply to the comment `comment_id`."""
        body = build_request(
            CommentRequest, account_id=account_id, text=text, comment_id=comment_id, mentions=mentions
        ).body()
        result: CommentSent = await self._send(
            "POST", f"/posts/{seg(social_id)}/comments", CommentSent, json=body
        )
        return result

    async def list_reactions(
        self,
        social_id: str,
        account_id: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        comment_id: str | None = None,
    ) -> tuple[list[PostReaction], str | None]:
        """One page of the reactions to a post (or to its comment `comment_id`)."""
        params: dict[str, Any] = {
            "account_id": account_id,
            "comment_id": comment_id,
            **page_params(limit, cursor, max_limit=100),
        }
        page: ListPage[PostReaction] = await self._get(
            f"/posts/{seg(social_id)}/reactions", ListPage[PostReaction], params
        )
        return page.items, page.cursor

    def iter_reactions(
        self, social_id: str, account_id: str, *, limit: int = 100
    ) -> AsyncIterator[PostReaction]:
        return iterate_items(
            lambda cursor: self.list_reactions(social_id, account_id, limit=limit, cursor=cursor)
        )

    async def react(
        self,
        social_id: str,
        account_id: str,
        reaction_type: ReactionType = "like",
        *,
        comment_id: str | None = None,
    ) -> ReactionAdded:
        """React to a post (or to one of its comments). The route is the literal `/posts/reaction`."""
        body = build_request(
            ReactionRequest,
            account_id=account_id,
            post_id=social_id,
            reaction_type=reaction_type,
            comment_id=comment_id,
        ).body()
        result: ReactionAdded = await self._send("POST", "/posts/reaction", ReactionAdded, json=body)
        return result
