"""The offline provider's engine: deterministic drafting in a voice.

`write(request)` returns `request.variants` texts. Every choice (hook, angle, list marker, call to
action) is drawn from a random generator seeded with the request itself, so the same request always
gives the same drafts and each variant differs from the others.

Facts come from `request.context` (all optional): topic, audience, points (list of strings),
lead_magnet_name, lead_magnet_description, trigger_word, text (a draft to rewrite, or the post to
comment on), post_text, first_name, author_name, link, stage ("ask_email" | "deliver" | "follow_up").
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from revos.ai import short
from revos.ai.base import CompletionRequest
from revos.ai.voice import (
    HASHTAG,
    Style,
    cap_emoji,
    fill,
    hashtag_of,
    place_hashtags,
    polish,
    scrub_avoided,
    sentences,
    split_long,
    strip_emoji,
    style_of,
    words,
)

Facts = dict[str, Any]

_HOOKS = (
    "Most {audience} get {topic} wrong in the same way.",
    "{Topic} is simpler than it looks, and easier to get wrong.",
    "Here is the {topic} process I wish I had on day one.",
    "I used to overcomplicate {topic}. Then I wrote it down.",
    "If {topic} feels like guesswork, start here.",
    "{Topic}: the steps nobody writes down.",
)
_CASUAL_HOOKS = (
    "Honest confession: I used to overthink {topic}.",
    "{Topic} nearly broke me. Then it got simple.",
    "Nobody told me this about {topic}.",
)
_PROBLEMS = (
    "When {topic} stalls, it is rarely for lack of effort. It is usually a missing step.",
    "Most advice on {topic} is about tools. The results come from the order you do things in.",
    "The difference between busy and effective {topic} is a short, repeatable routine.",
    "I see the same pattern every week: lots of activity around {topic}, very little to show for it.",
)
_WHY = (
    "The reason is simple: a process you can repeat is a process you can improve.",
    "Without a routine, every week starts from zero and {topic} depends on mood instead of method.",
    "Once the steps are written down, you can hand them over, or spot the one that leaks.",
)
_LIST_INTROS = ("Here is what works:", "What I do now:", "The short version:", "The routine:")
_POINTS = (
    "Decide the one result {topic} has to produce",
    "Write down the steps you already repeat every week",
    "Cut anything that does not move that result",
    "Track one number, weekly, and nothing else",
    "Fix the weakest step first, then the next one",
    "Block the time before the week starts, not during it",
)
_MAGNET_LINES = (
    "I put the whole process into {magnet}{about}.",
    "I turned this into {magnet}{about}.",
    "Everything above is in {magnet}{about}, ready to use.",
)
_CTA_WITH_TRIGGER = (
    'Comment "{trigger_word}" and I will send you {magnet}.',
    'Want {magnet}? Comment "{trigger_word}" below and I will share it by message.',
    'Comment "{trigger_word}" if you would like a copy.',
)
_CTA_QUESTION = ("What would you add? I read every comment.", "Which step do you skip most often?")
_CLOSERS = (
    "Small steps, done every week, beat a perfect plan done once.",
    "None of this is clever. It works because it is repeated.",
    "Start with one step this week. The rest gets easier.",
)
_ARTIFACT = re.compile(r"\b(pdf|checklist|template|guide|cheat sheet|playbook|swipe file|worksheet)\b", re.I)
_STARTERS = (
    "in practice",
    "honestly",
    "here's the thing",
    "turns out",
    "the truth is",
    "real talk",
    "spoiler",
)


def seeder(request: CompletionRequest) -> Callable[[int, int], random.Random]:
    """The random generator of one request's variant `index` at its `attempt`, seeded by the SHA-256 of
    the JSON array [purpose, system, prompt, context, index, attempt]: the same request always gets the
    same drafts. The array's head is serialised and hashed once per request, each call hashes its tail."""
    head = json.dumps(
        [request.purpose, request.system, request.prompt, dict(request.context or {})],
        sort_keys=True,
        default=str,
    )
    base = hashlib.sha256(head[:-1].encode())

    def rng(index: int, attempt: int = 0) -> random.Random:
        h = base.copy()
        h.update(f", {json.dumps(index)}, {json.dumps(attempt)}]".encode())
        return random.Random(int.from_bytes(h.digest()[:8], "big"))

    return rng


def clean_facts(context: Mapping[str, Any] | None) -> Facts:
    """The context as the writer reads it: text facts as stripped strings (empty ones dropped), `points`
    as a list of strings; anything else (numbers, nested objects) is stringified or left out."""
    facts: Facts = {}
    for key, value in (context or {}).items():
        if key == "points":
            items = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
            facts[key] = [
                str(i).strip() for i in items if isinstance(i, str | int | float) and str(i).strip()
            ]
        elif isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
            facts[key] = str(value).strip()
    return facts


def write(request: CompletionRequest) -> list[str]:
    """`request.variants` distinct drafts (distinct whenever the facts leave room for it)."""
    style = style_of(request.voice)
    facts = clean_facts(request.context)
    draft = _WRITERS.get(request.purpose, _generic)
    rng = seeder(request)
    texts: list[str] = []
    for index in range(max(1, request.variants)):
        text = ""
        for attempt in range(8):
            text = draft(request, style, facts, rng(index, attempt), index)
            if text not in texts:
                break
        texts.append(text)
    return texts


def hook(style: Style, facts: Facts, rng: random.Random) -> str:
    """A first line within the voice's hook length (the first template that fits, in a seeded order)."""
    pool = list(_HOOKS) + (list(_CASUAL_HOOKS) if style.casual else [])
    if not facts.get("audience"):
        pool = [h for h in pool if "{audience}" not in h]
    rng.shuffle(pool)
    lines = [fill(h, facts) for h in pool]
    fitting = [ln for ln in lines if words(ln) <= style.hook_max_words]
    if fitting:
        return fitting[0]
    shortest = min(lines, key=words)
    return " ".join(shortest.split()[: style.hook_max_words]).rstrip(",:;") + "."


def cta(style: Style, facts: Facts, rng: random.Random) -> str:
    if facts.get("trigger_word"):
        own = [c for c in style.ctas if "{trigger_word}" in c]
        return fill(rng.choice(own or list(_CTA_WITH_TRIGGER)), facts)
    plain = [c for c in style.ctas if "{" not in c]
    return fill(rng.choice(plain or list(_CTA_QUESTION)), facts)


def starter(style: Style, rng: random.Random) -> str:
    """A lead-in the voice likes ("In practice,", "Here's the thing:"), or "" when it has none."""
    options = [p for p in style.prefer + style.phrases if p.lower().rstrip(":,") in _STARTERS]
    options += [p for p in style.phrases if p.endswith(":") and words(p) <= 4]
    if not options:
        return ""
    chosen = rng.choice(options).rstrip(":,")
    return chosen[:1].upper() + chosen[1:] + (":" if chosen.lower().endswith("thing") else ",")


def with_starter(sentence: str, lead: str) -> str:
    if not lead or not sentence:
        return sentence
    first = re.split(r"[\s,:;]", sentence, maxsplit=1)[0]
    keep = re.fullmatch(r"I(['’](m|ve|ll|d))?", first) or first[1:2].isupper()
    return f"{lead} {sentence if keep else sentence[:1].lower() + sentence[1:]}"


def decorate(paragraphs: list[str], style: Style, facts: Facts, rng: random.Random, tags: list[str]) -> str:
    """Sign-off, hashtags and emoji per the voice's habits, then the paragraphs joined for a phone."""
    body = [polish(p, style) for p in paragraphs if p.strip()]
    if style.emoji_allowed:
        marks = list(style.emoji)
        rng.shuffle(marks)
        last = "👇" if "👇" in marks else marks[-1]
        first = next((m for m in marks if m != last), "")
        body[0] = f"{body[0]} {first}" if style.emoji_max >= 2 and first else body[0]
        body[-1] = f"{body[-1]} {last}"
    if style.sign_off:
        body.append(style.sign_off)
    text = "\n\n".join(place_hashtags(body, tags, style))
    return cap_emoji(text, style.emoji_max) if style.emoji_allowed else strip_emoji(text)


def post_tags(style: Style, facts: Facts, rng: random.Random) -> list[str]:
    own = ["#" + t for t in style.hashtags]
    rng.shuffle(own)
    derived = [hashtag_of(str(facts.get("topic") or "")), hashtag_of(str(facts.get("audience") or ""))]
    return [t for t in own + derived if len(t) > 2]


def _post(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    if facts.get("text"):
        return _rewrite(request, style, facts, rng, index, ensure_cta=True)
    points = [str(p).strip().rstrip(".") for p in facts.get("points") or [] if str(p).strip()]
    if not points:
        points = [fill(p, facts) for p in rng.sample(list(_POINTS), k=rng.choice((3, 4, 5)))]
    marker = "{n}." if style.numbered_lists or rng.random() < 0.5 else ("→" if style.casual else "-")
    listed = "\n".join(f"{marker.format(n=i + 1)} {p}" for i, p in enumerate(points[:5]))
    problem = with_starter(fill(rng.choice(_PROBLEMS), facts), starter(style, rng))
    paragraphs = [hook(style, facts, rng), *_paragraphs(sentences(problem), style)]
    paragraphs.append(rng.choice(_LIST_INTROS) + "\n" + listed)
    extra = [fill(line, facts) for line in [*rng.sample(list(_WHY), k=2), rng.choice(_CLOSERS)]]
    while extra and words("\n".join(paragraphs)) < style.min_words * 0.8:
        paragraphs.append(extra.pop(0))
    call = cta(style, facts, rng)
    # The voice's own call to action may already present the magnet ("I put the checklist in a PDF").
    if facts.get("lead_magnet_name") and not _ARTIFACT.search(call):
        about = facts.get("lead_magnet_description")
        about_text = f": {str(about).strip().rstrip('.')}" if about else ""
        paragraphs.append(
            rng.choice(_MAGNET_LINES).format(magnet=facts["lead_magnet_name"], about=about_text)
        )
    paragraphs.append(call)
    return decorate(paragraphs, style, facts, rng, post_tags(style, facts, rng))


def _paragraphs(items: list[str], style: Style, per: int | None = None) -> list[str]:
    per = per or style.sentences_per_paragraph
    return [" ".join(items[i : i + per]) for i in range(0, len(items), per)]


def _is_item(line: str) -> bool:
    return bool(re.match(r"(\d+[.)]|[-•→*✅])\s", line))


def _blocks(source: str, style: Style, per: int) -> list[str]:
    """Paragraphs of `source` re-cut to the voice: prose into sentences of its length, lists kept whole
    (with the sentence that introduces them)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        prose: list[str] = []
        for line in [ln.strip() for ln in block.split("\n") if ln.strip()]:
            if _is_item(line) and out and not prose and _is_item(out[-1].split("\n")[-1]):
                out[-1] += "\n" + line
            elif _is_item(line):
                said = [p for s in sentences(" ".join(prose)) for p in split_long(s, style.max_words)]
                out.extend(_paragraphs(said[:-1], style, per))
                out.append("\n".join([*said[-1:], line]))
                prose = []
            else:
                prose.append(line)
        said = [p for s in sentences(" ".join(prose)) for p in split_long(s, style.max_words)]
        out.extend(_paragraphs(said, style, per))
    return [p for p in out if p.strip()]


def _rewrite(
    request: CompletionRequest,
    style: Style,
    facts: Facts,
    rng: random.Random,
    index: int,
    *,
    ensure_cta: bool = False,
) -> str:
    """`facts["text"]` (else the prompt) said in the voice: same content, the voice's form."""
    source = str(facts.get("text") or request.prompt)
    tags = ["#" + t for t in HASHTAG.findall(source)]
    source = HASHTAG.sub("", source)
    if not style.emoji_allowed:
        source = "\n".join(strip_emoji(line) for line in source.split("\n"))
    per = style.sentences_per_paragraph if index == 0 else rng.choice((1, style.sentences_per_paragraph, 2))
    paragraphs = _blocks(scrub_avoided(source, style.avoid), style, per)
    if not paragraphs:
        return ""
    first = paragraphs[0]
    if "\n" not in first and words(first) > style.hook_max_words and len(sentences(first)) > 1:
        head, *rest = sentences(first)
        paragraphs[0:1] = [head, " ".join(rest)]
    prose = [i for i, p in enumerate(paragraphs) if i > 0 and "\n" not in p and not p.endswith(":")]
    if index > 0 and prose:
        spot = prose[(index - 1) % len(prose)]
        paragraphs[spot] = with_starter(paragraphs[spot], starter(style, rng))
    if ensure_cta and facts.get("trigger_word") and str(facts["trigger_word"]).lower() not in source.lower():
        paragraphs.append(cta(style, facts, rng))
    elif index >= 2 and not paragraphs[-1].rstrip().endswith("?"):
        paragraphs.append(cta(style, {k: v for k, v in facts.items() if k != "trigger_word"}, rng))
    text = "\n\n".join(place_hashtags([polish(p, style) for p in paragraphs], tags, style))
    return cap_emoji(text, style.emoji_max) if style.emoji_allowed else text


def _generic(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    return _rewrite(request, style, facts, rng, index)


Writer = Callable[[CompletionRequest, Style, Facts, random.Random, int], str]

_WRITERS: dict[str, Writer] = {
    "post": _post,
    "rewrite": _rewrite,
    "dm": short.dm,
    "comment": short.comment,
    "describe": short.describe,
    "brief": short.brief,
    "check": short.check,
}
