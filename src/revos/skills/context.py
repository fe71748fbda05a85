"""What a skill run knows: the campaign, its lead magnet and newest post, whose voice it writes in (the
resolved cartridge) and the client's relevant memories, and the prompts built from them.

Everything here is read for one client, the campaign's: a prompt never carries another client's row,
even on the scheduler's service-role connection (where Row Level Security does not filter): memories
are searched with the client named, a voice is resolved for the client named, and a cartridge or user
named in the options must be the client's own (or a system cartridge).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from revos.campaigns import service as campaigns
from revos.cartridges import service as cartridges
from revos.db.pool import Conn
from revos.errors import NotFound, ValidationFailed
from revos.magnets import service as magnets
from revos.memory import service as memory
from revos.posts.service import render_post_template
from revos.runtime import Runtime
from revos.skills import repo
from revos.skills.schemas import Options

# A memory quoted in a prompt is cut to this many characters; the voice and knowledge JSON likewise.
MEMORY_CHARS = 600
VOICE_JSON_CHARS = 12_000
# A memory is used when its cosine similarity with the campaign's topic is at least this.
MEMORY_THRESHOLD = 0.1


def invalid(field_name: str, message: str) -> ValidationFailed:
    exc = ValidationFailed(f"{field_name}: {message}")
    exc.field = field_name  # type: ignore[attr-defined]  # read by the API's error handler
    return exc


@dataclass
class Base:
    """The campaign as a skill reads it, and the voice it writes in."""

    campaign: dict[str, Any]
    magnet: dict[str, Any] | None
    post: dict[str, Any] | None  # the campaign's newest post, whatever its status
    voice: cartridges.Resolved
    user_id: UUID | None
    memories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def client_id(self) -> UUID:
        client: UUID = self.campaign["client_id"]
        return client

    @property
    def trigger_word(self) -> str:
        words = campaigns.trigger_words_of(self.campaign)
        return words[0] if words else ""

    def template_text(self) -> str:
        template = self.campaign.get("post_template") or ""
        return render_post_template(template, self.campaign, self.magnet) if template else ""

    def facts(self) -> dict[str, Any]:
        """The structured facts every provider gets (the offline writer drafts from them)."""
        magnet = self.magnet or {}
        found = {
            "campaign_name": self.campaign.get("name"),
            "trigger_word": self.trigger_word,
            "lead_magnet_name": magnet.get("name"),
            "lead_magnet_description": magnet.get("description"),
            "audience": (self.voice.knowledge or {}).get("audience"),
        }
        return {k: v for k, v in found.items() if v}

    def provenance(self) -> dict[str, Any]:
        return {"cartridge_id": self.voice.cartridge_id, "cartridge_version": self.voice.version}


async def _writer(
    conn: Conn, client_id: UUID, opts: Options, post: dict[str, Any] | None, caller: UUID | None
) -> UUID | None:
    """Whose voice: the user named, else the user of the account that publishes (the account named, the
    campaign's newest post's), else the person running the skill, else nobody (the client's voice)."""
    if opts.user_id is not None:
        if not await repo.user_in_client(conn, opts.user_id, client_id):
            raise invalid("user_id", "no such user in this campaign's client")
        return opts.user_id
    account_id = getattr(opts, "linkedin_account_id", None) or (post or {}).get("linkedin_account_id")
    if account_id is not None:
        user = await repo.user_of_account(conn, account_id, client_id)
        if user is not None:
            return user
    if caller is not None and await repo.user_in_client(conn, caller, client_id):
        return caller
    return None


async def _voice(
    conn: Conn, client_id: UUID, opts: Options, user_id: UUID | None, skill: str
) -> cartridges.Resolved:
    if opts.cartridge_id is None:
        return await cartridges.resolve_for(conn, client_id=client_id, user_id=user_id, skill=skill)
    try:
        row = await cartridges.get(conn, opts.cartridge_id)
    except NotFound:
        row = None
    if row is None or row["client_id"] not in (None, client_id):
        raise invalid("cartridge_id", "no such cartridge in this campaign's client")
    return await cartridges.resolve(conn, opts.cartridge_id)


async def load(
    runtime: Runtime, conn: Conn, campaign: dict[str, Any], opts: Options, *, skill: str, caller: UUID | None
) -> Base:
    client_id = campaign["client_id"]
    magnet = (
        await magnets.get_magnet(conn, campaign["lead_magnet_id"]) if campaign.get("lead_magnet_id") else None
    )
    post = await repo.newest_post(conn, campaign["id"], editable=False)
    user_id = await _writer(conn, client_id, opts, post, caller)
    voice = await _voice(conn, client_id, opts, user_id, skill)
    return Base(campaign, magnet, post, voice, user_id)


async def recall(runtime: Runtime, conn: Conn, base: Base, query: str, k: int) -> list[dict[str, Any]]:
    """The client's `k` memories closest to `query` (never another client's: the search names it)."""
    if k <= 0 or not query.strip():
        return []
    query = query[: runtime.settings.memory_content_max_chars]
    hits = await memory.search(
        runtime, conn, client_id=base.client_id, query=query, k=k, threshold=MEMORY_THRESHOLD
    )
    base.memories = [
        {"id": h["id"], "memory_type": h.get("memory_type"), "score": h["score"], "content": h["content"]}
        for h in hits
        if h.get("client_id", base.client_id) == base.client_id
    ]
    return base.memories


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= VOICE_JSON_CHARS else text[:VOICE_JSON_CHARS] + " …(cut)"


def system_prompt(base: Base, role: str, rules: list[str]) -> str:
    """The instructions: who writes (the resolved voice and knowledge), what for, and the rules."""
    lines = [
        f"You are {role} for a LinkedIn professional. Write exactly in their voice, described by this JSON:",
        _json(base.voice.voice),
    ]
    if base.voice.knowledge:
        lines += ["What they know and stand for:", _json(base.voice.knowledge)]
    lines += ["Rules:", *(f"- {rule}" for rule in rules)]
    return "\n".join(lines)


def campaign_lines(base: Base) -> list[str]:
    magnet = base.magnet or {}
    lines = [f'Campaign: "{base.campaign.get("name")}".']
    if magnet:
        about = f" — {magnet['description']}" if magnet.get("description") else ""
        lines.append(f'Lead magnet: "{magnet.get("name")}"{about}.')
    if base.trigger_word:
        lines.append(f'Readers comment "{base.trigger_word}" to receive it by direct message.')
    return lines


def memory_lines(memories: list[dict[str, Any]]) -> list[str]:
    if not memories:
        return []
    return ["What worked before for this client (most relevant first):"] + [
        f"- ({m['memory_type']}) {str(m['content'])[:MEMORY_CHARS]}" for m in memories
    ]
