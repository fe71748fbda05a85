"""The `copywriting` skill: the campaign's post (and variants), drafted in the resolved voice from the post
template, the lead magnet, the trigger word and the client's most relevant memories. A draft becomes the
campaign's post through the posts domain (a draft post updated, or created): publishing is unchanged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.ai.base import Completion, CompletionRequest
from revos.db.pool import Conn
from revos.errors import Conflict
from revos.posts import schemas as posts_schemas
from revos.posts import service as posts
from revos.runtime import Runtime
from revos.skills import context, repo
from revos.skills.context import Base, invalid
from revos.skills.kinds import Applied, Kind, Prepared, SkillOutputInvalid
from revos.skills.schemas import POST_MAX, CopywritingOptions

RULES = [
    f"Write one LinkedIn post of at most {POST_MAX} characters, plain text, ready to publish.",
    "Keep the campaign's offer and its call to action: readers comment the trigger word to get the lead magnet.",
    "No links in the post (LinkedIn shows posts with links to fewer people).",
    "Use what worked before for this client when it fits; never invent numbers or results.",
    "Answer with the post text only.",
]


async def _target(
    conn: Conn, campaign: dict[str, Any], post_id: UUID | None, account_id: UUID | None
) -> tuple[dict[str, Any] | None, UUID | None]:
    """The draft post a draft replaces, or else the account to create one for."""
    if post_id is not None:
        post = await posts.get_post(conn, post_id)
        if post["campaign_id"] != campaign["id"]:
            raise invalid("post_id", "no such post in this campaign")
        if post["status"] not in posts.EDITABLE:
            raise posts.PostNotEditable(
                f"the post is {post['status']}: only a draft or scheduled post takes a draft"
            )
        return post, None
    editable = await repo.newest_post(conn, campaign["id"], editable=True)
    if editable is not None:
        return editable, None
    if account_id is None:
        last = await repo.newest_post(conn, campaign["id"], editable=False)
        account_id = last["linkedin_account_id"] if last else None
    if account_id is None:
        raise invalid(
            "linkedin_account_id",
            "the campaign has no draft post to update: name linkedin_account_id to create one (or post_id)",
        )
    return None, account_id


async def check_target(conn: Conn, campaign: dict[str, Any], opts: CopywritingOptions) -> None:
    if opts.apply:
        await _target(conn, campaign, opts.post_id, opts.linkedin_account_id)


async def prepare(runtime: Runtime, conn: Conn, base: Base, opts: CopywritingOptions) -> Prepared:
    magnet = base.magnet or {}
    topic = opts.topic or magnet.get("name") or base.campaign.get("name") or ""
    template = base.template_text()
    query = " ".join(filter(None, [topic, magnet.get("description"), opts.audience, template]))
    memories = await context.recall(runtime, conn, base, query, opts.memories)
    facts: dict[str, Any] = base.facts() | {"topic": topic}
    if opts.audience:
        facts["audience"] = opts.audience
    if opts.points:
        facts["points"] = list(opts.points)
    if opts.use_template and template:
        facts["text"] = template
    lines = [
        f"Draft the LinkedIn post of this campaign, about {topic}."
        + (f" {opts.variants} distinct variants." if opts.variants > 1 else ""),
        *context.campaign_lines(base),
    ]
    if opts.audience:
        lines.append(f"Audience: {opts.audience}.")
    if opts.points:
        lines += ["The post must make these points:", *(f"- {p}" for p in opts.points)]
    if template:
        verb = "Rewrite" if opts.use_template else "Keep the offer and call to action of"
        lines += [f"{verb} the campaign's post template:", template]
    lines += context.memory_lines(memories)
    request = CompletionRequest(
        system=context.system_prompt(base, "the copywriter", RULES),
        prompt="\n".join(lines),
        purpose="post",
        voice=base.voice.voice,
        context=facts,
        max_tokens=900,
        variants=opts.variants,
    )
    used = [{"id": str(m["id"]), "score": m["score"]} for m in memories]
    return Prepared(request, context={"topic": topic, "memories": used})


def output(prepared: Prepared, completion: Completion, opts: CopywritingOptions) -> dict[str, Any]:
    drafts = [t.strip()[:POST_MAX].strip() for t in completion.texts if t and t.strip()]
    if not drafts:
        raise SkillOutputInvalid(f"{completion.provider} ({completion.model}) returned no draft")
    chosen = min(opts.choose, len(drafts) - 1)
    return {"drafts": drafts, "chosen": chosen, "text": drafts[chosen]}


async def apply(
    runtime: Runtime, conn: Conn, campaign: dict[str, Any], opts: CopywritingOptions, text: str
) -> Applied:
    """The text becomes the campaign's post: the draft post updated, or a draft post created."""
    if campaign["status"] == "completed":
        raise Conflict("the campaign is completed: it takes no new post")
    post, account_id = await _target(conn, campaign, opts.post_id, opts.linkedin_account_id)
    if post is not None:
        row = await posts.update_post(conn, post["id"], posts_schemas.PostUpdate(content=text[:POST_MAX]))
    else:
        assert account_id is not None
        body = posts_schemas.PostCreate(
            campaign_id=campaign["id"], linkedin_account_id=account_id, content=text[:POST_MAX]
        )
        row = await posts.create_post(conn, body)
    return Applied(post_id=row["id"], target="post")


KIND = Kind("copywriting", CopywritingOptions, prepare, output, apply, check_target)
