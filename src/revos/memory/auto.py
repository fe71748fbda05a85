"""The memories revOS writes itself (the periodic `memory.write_automatic`):

- `successful_post`: a published post whose leads per comment beat its client's median (among the
  client's posts with at least REVOS_MEMORY_AUTO_MIN_COMMENTS comments, once it has
  REVOS_MEMORY_AUTO_MIN_POSTS of them). Content: the post's text; metadata: post id, campaign, leads,
  comments, ratio, the median. The memory belongs to the user whose LinkedIn account published it.
- `conversion_pattern`: a step-1 DM template whose reply rate beats its client's median by
  REVOS_MEMORY_AUTO_REPLY_MARGIN, over at least REVOS_MEMORY_AUTO_MIN_SENDS first DMs (among at least
  REVOS_MEMORY_AUTO_MIN_TEMPLATES judged templates). Content: the template; metadata: sends, replies,
  rate, the median, its campaigns.

Posts and first DMs are judged once REVOS_MEMORY_AUTO_SETTLE_HOURS old, when their comments and
replies have mostly arrived. Each source is remembered once per client (metadata.auto_source, a unique
index): running again, or on two workers at once, writes nothing twice. Deleting an automatic memory
lets a later run write it again while its source still stands out.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from revos import clock
from revos.ai import embeddings
from revos.memory import auto_repo, repo
from revos.memory.service import AUTO_SOURCE, CONVERSION_PATTERN, SUCCESSFUL_POST, queue_mem0_copy
from revos.runtime import Runtime

log = logging.getLogger(__name__)


def _post_memory(post: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": post["client_id"],
        "user_id": post["user_id"],
        "memory_type": SUCCESSFUL_POST,
        "content": post["content"],
        "metadata": {
            AUTO_SOURCE: f"post:{post['id']}",
            "post_id": str(post["id"]),
            "campaign_id": str(post["campaign_id"]) if post["campaign_id"] else None,
            "leads": post["leads"],
            "comments": post["comments"],
            "ratio": round(post["ratio"], 4),
            "client_median": round(post["median"], 4),
        },
    }


def _template_memory(template: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_id": template["client_id"],
        "user_id": None,
        "memory_type": CONVERSION_PATTERN,
        "content": template["template"],
        "metadata": {
            AUTO_SOURCE: f"dm_template:{template['template_md5']}",
            "step": 1,
            "sent": template["sent"],
            "replied": template["replied"],
            "reply_rate": round(template["rate"], 4),
            "client_median": round(template["median"], 4),
            "campaign_ids": [str(c) for c in template["campaign_ids"]],
        },
    }


async def write_automatic(runtime: Runtime) -> dict[str, int]:
    """Write the memories that posts and DM templates have earned since the last run; returns how many
    of each type were written."""
    settings = runtime.settings
    settled = clock.utcnow() - timedelta(hours=settings.memory_auto_settle_hours)
    embedder = embeddings.embedder(settings)
    model = embeddings.signature(embedder)
    written = {SUCCESSFUL_POST: 0, CONVERSION_PATTERN: 0}
    async with runtime.db.service() as conn:
        posts = await auto_repo.successful_posts(
            conn,
            settled=settled,
            min_comments=settings.memory_auto_min_comments,
            min_posts=settings.memory_auto_min_posts,
            limit=settings.memory_auto_batch,
        )
        templates = await auto_repo.converting_templates(
            conn,
            settled=settled,
            min_sends=settings.memory_auto_min_sends,
            min_templates=settings.memory_auto_min_templates,
            margin=settings.memory_auto_reply_margin,
            limit=settings.memory_auto_batch,
        )
        memories = [*map(_post_memory, posts), *map(_template_memory, templates)]
        vectors = await embedder.embed([m["content"] for m in memories])
        for memory, vector in zip(memories, vectors, strict=True):
            row = await repo.insert_auto(
                conn, {**memory, "embedding_model": model}, vector=embeddings.pad(vector)
            )
            if row is not None:
                written[memory["memory_type"]] += 1
                await queue_mem0_copy(settings, conn, row["id"])
    if any(written.values()):
        log.info("automatic memories written: %s", written)
    return written
