"""The `design` skill: a visual brief for the campaign's post — a carousel outline slide by slide, an image
prompt and alt text — read from the provider's answer (the format the prompt asks for). What a provider
leaves out is filled from the post itself, so the brief always has its three parts."""

from __future__ import annotations

import re
from typing import Any

from revos.ai.base import Completion, CompletionRequest
from revos.db.pool import Conn
from revos.runtime import Runtime
from revos.skills import context
from revos.skills.context import Base, invalid
from revos.skills.kinds import Kind, Prepared
from revos.skills.schemas import DesignOptions

FORMAT = [
    "Answer in exactly this format:",
    "Carousel outline:",
    "Slide 1 (cover): <the hook>",
    "Slide 2: <one idea per slide>",
    "...",
    "Slide N (close): <the call to action>",
    "Image prompt: <one paragraph for an image model>",
    "Alt text: <one sentence describing the image for screen readers>",
]
_SLIDE = re.compile(r"^\s*slide\s+(\d+)\s*(?:\(([^)]*)\))?\s*[:.\-–]\s*(.+)$", re.I)
_FIELD = re.compile(r"^\s*(image prompt|alt text)\s*:\s*(.+)$", re.I)
ALT_MAX = 250


def post_of(base: Base, opts: DesignOptions) -> str:
    text = opts.post_text or (base.post or {}).get("content") or base.template_text()
    if not text:
        raise invalid("post_text", "the campaign has no post yet: give post_text (or run copywriting first)")
    return str(text)


async def prepare(runtime: Runtime, conn: Conn, base: Base, opts: DesignOptions) -> Prepared:
    post = post_of(base, opts)
    lines = [
        f"Write the visual brief for this LinkedIn post: a carousel of at most {opts.slides} slides, "
        "an image prompt and alt text.",
        *context.campaign_lines(base),
        "The post:",
        post,
        *FORMAT,
    ]
    request = CompletionRequest(
        system=context.system_prompt(
            base, "the designer", ["Visuals match the voice; no text inside images."]
        ),
        prompt="\n".join(lines),
        purpose="brief",
        voice=base.voice.voice,
        context=base.facts() | {"text": post},
        max_tokens=700,
        temperature=0.5,
    )
    return Prepared(request, context={"post_chars": len(post)}, data={"post": post})


def _fallback_slides(post: str, trigger: str) -> list[dict[str, Any]]:
    lines = [ln.strip() for ln in post.split("\n") if ln.strip() and not ln.strip().startswith("#")]
    slides = [{"number": 1, "role": "cover", "text": lines[0] if lines else post[:120]}]
    slides += [{"number": i + 2, "role": "content", "text": ln} for i, ln in enumerate(lines[1:-1][:5])]
    close = f'Comment "{trigger}" for the full guide' if trigger else (lines[-1] if len(lines) > 1 else "")
    slides.append({"number": len(slides) + 1, "role": "close", "text": close})
    return slides


def parse(text: str, slides_max: int) -> tuple[list[dict[str, Any]], str, str]:
    slides: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        if match := _SLIDE.match(line):
            role = (match.group(2) or "content").strip().lower()
            slides.append({"number": len(slides) + 1, "role": role, "text": match.group(3).strip()})
        elif match := _FIELD.match(line):
            fields[match.group(1).lower()] = match.group(2).strip()
    if len(slides) > slides_max:  # keep the cover and the close
        slides = [*slides[: slides_max - 1], slides[-1]]
        for number, slide in enumerate(slides, 1):
            slide["number"] = number
    return slides, fields.get("image prompt", ""), fields.get("alt text", "")


def output(prepared: Prepared, completion: Completion, opts: DesignOptions) -> dict[str, Any]:
    post = prepared.data["post"]
    trigger = str((prepared.request.context or {}).get("trigger_word") or "")
    slides, image_prompt, alt_text = parse(completion.text, opts.slides)
    if len(slides) < 2:
        slides = _fallback_slides(post, trigger)[: opts.slides]
    cover = slides[0]["text"]
    if not image_prompt:
        image_prompt = (
            f"A clean, flat illustration of: {cover}. Generous white space, no text in the image, 1080x1080."
        )
    if not alt_text:
        alt_text = f"Illustration for the post: {cover}"
    return {
        "carousel": slides,
        "image_prompt": image_prompt,
        "alt_text": alt_text[:ALT_MAX],
        "brief": completion.text.strip(),
    }


KIND = Kind("design", DesignOptions, prepare, output)
