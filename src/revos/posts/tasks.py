"""Queue tasks for posts: the publish and poll dispatchers (periodic) and the one-post jobs behind
"publish now" and "poll now". All re-read the post and are idempotent."""

from __future__ import annotations

import logging
from uuid import UUID

from revos.accounts.safety import account_lock
from revos.db.pool import Conn
from revos.posts import polling, publishing
from revos.queue import defer_if_absent, periodic, task
from revos.queue.app import current_runtime

log = logging.getLogger(__name__)

PUBLISH = "posts.publish"
POLL = "posts.poll"


async def defer_publish(conn: Conn, post_id: UUID, account_id: UUID | None) -> None:
    await defer_if_absent(
        conn,
        PUBLISH,
        {"post_id": str(post_id)},
        queueing_lock=f"{PUBLISH}:{post_id}",
        lock=account_lock(account_id),
    )


async def defer_poll(conn: Conn, post_id: UUID, *, full: bool) -> None:
    await defer_if_absent(
        conn, POLL, {"post_id": str(post_id), "full": full}, queueing_lock=f"{POLL}:{post_id}"
    )


@task(PUBLISH, queue="posts", max_attempts=3)
async def publish_task(post_id: str) -> None:
    result = await publishing.publish_post(current_runtime(), UUID(post_id))
    log.info("post %s: %s %s", post_id, result.status, result.reason)


@task(POLL, queue="posts", max_attempts=3)
async def poll_task(post_id: str, full: bool = False) -> None:
    await polling.poll_post(current_runtime(), UUID(post_id), full=full or None)


@periodic("posts.publish_due", cron=lambda s: s.cron_posts_publish_due)
async def publish_due_task(timestamp: int) -> None:
    await publishing.publish_due(current_runtime())


@periodic("posts.poll_due", cron=lambda s: s.cron_posts_poll_due)
async def poll_due_task(timestamp: int) -> None:
    await polling.poll_due(current_runtime())
