"""The `voice` skill: a text (a DM template, a post template, any text) rewritten in the resolved voice.

Template variables are kept: every `{{variable}}` of the source appears in each rewrite, and a rewrite
adding one the template language does not know is dropped (revos.text.templates). When the provider
keeps none intact, the run fails rather than hand over a template that would greet a lead with
"Hi {{firstname}}"."""

from __future__ import annotations

from typing import Any

from revos.ai.base import Completion, CompletionRequest
from revos.campaigns import schemas as campaign_schemas
from revos.campaigns import service as campaigns
from revos.db.pool import Conn
from revos.runtime import Runtime
from revos.skills import context
from revos.skills.context import Base, invalid
from revos.skills.kinds import Applied, Kind, Prepared, SkillOutputInvalid
from revos.skills.schemas import POST_MAX, TEXT_MAX, VoiceOptions
from revos.text.templates import DEFAULT_TEMPLATES, VARIABLES, variables_in

RULES = [
    "Rewrite the text in the voice: same meaning, same facts, same offer; the voice's words, rhythm and habits.",
    "Keep every template variable such as {{first_name}} exactly as written, and add none.",
    "A direct message stays short and personal; no links unless the text has one.",
    "Answer with the rewritten text only.",
]


def _known(target: str | None) -> set[str]:
    allowed = set(VARIABLES)
    if target in (None, "post_template"):
        allowed |= set(campaigns.POST_VARIABLES)
    return allowed


def source_of(campaign: dict[str, Any], opts: VoiceOptions) -> str:
    if opts.text:
        return opts.text
    if opts.target is None:
        raise invalid("text", "give the text to rewrite, or a target (one of the campaign's templates)")
    text = campaign.get(opts.target)
    if not text and opts.target.startswith("dm_template_step"):
        text = DEFAULT_TEMPLATES[int(opts.target[-1])]
    if not text:
        raise invalid("target", f"the campaign has no {opts.target} to rewrite")
    return str(text)


async def check_target(conn: Conn, campaign: dict[str, Any], opts: VoiceOptions) -> None:
    if opts.apply and opts.target is None:
        raise invalid("target", "apply needs the template the rewrite replaces")


async def prepare(runtime: Runtime, conn: Conn, base: Base, opts: VoiceOptions) -> Prepared:
    source = source_of(base.campaign, opts)
    variables = variables_in(source)
    unknown = [v for v in variables if v not in _known(opts.target)]
    if unknown:
        raise invalid("text", "unknown template variable(s): " + ", ".join("{{" + v + "}}" for v in unknown))
    purpose = "post" if opts.target == "post_template" else "rewrite"
    lines = ["Rewrite this text in the voice:", source]
    if variables:
        lines.append("Keep these variables exactly: " + ", ".join("{{" + v + "}}" for v in variables) + ".")
    lines += context.campaign_lines(base)
    request = CompletionRequest(
        system=context.system_prompt(base, "the editor", RULES),
        prompt="\n".join(lines),
        purpose=purpose,
        voice=base.voice.voice,
        context=base.facts() | {"text": source},
        max_tokens=700,
        temperature=0.5,
        variants=opts.variants,
    )
    return Prepared(request, context={"source": source, "target": opts.target}, data={"variables": variables})


def output(prepared: Prepared, completion: Completion, opts: VoiceOptions) -> dict[str, Any]:
    wanted = set(prepared.data["variables"])
    allowed = _known(opts.target)
    limit = POST_MAX if opts.target == "post_template" else TEXT_MAX
    kept: list[str] = []
    for text in completion.texts:
        text = (text or "").strip()
        found = set(variables_in(text))
        if text and len(text) <= limit and wanted <= found and found <= allowed and text not in kept:
            kept.append(text)
    if not kept:
        raise SkillOutputInvalid(
            f"{completion.provider} ({completion.model}) did not keep the template variables "
            + (", ".join("{{" + v + "}}" for v in sorted(wanted)) or "intact")
        )
    return {
        "texts": kept,
        "chosen": 0,
        "text": kept[0],
        "variables": prepared.data["variables"],
        "target": opts.target,
        "dropped": len(completion.texts) - len(kept),
    }


async def apply(
    runtime: Runtime, conn: Conn, campaign: dict[str, Any], opts: VoiceOptions, text: str
) -> Applied:
    """The rewrite replaces the campaign's template (through the campaigns domain, which validates it)."""
    if opts.target is None:
        raise invalid("target", "apply needs the template the rewrite replaces")
    body = campaign_schemas.CampaignUpdate.model_validate({opts.target: text})
    await campaigns.update_campaign(conn, campaign["id"], body, settings=runtime.settings)
    return Applied(target=opts.target)


KIND = Kind("voice", VoiceOptions, prepare, output, apply, check_target)
