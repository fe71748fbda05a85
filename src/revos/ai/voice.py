"""Reading a resolved voice (a cartridge's `voice` JSON) into numbers and lists the writer can follow,
and applying it to text: avoided words, sentence length, contractions, emoji and hashtag habits.

The vocabulary is the system cartridges' (tone, vocabulary.prefer/avoid, sentence_length, paragraphs,
emoji_policy, hashtags, formatting, example_openers, example_ctas, dm_style) plus the keys an
auto-generated voice adds (`phrases`, `sign_off`). Every key is optional and read leniently: a voice
written by hand may give a number where the seed gives prose, or a string where it gives a list.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_CASUAL_TONE = ("warm", "casual", "conversational", "friendly", "playful", "upbeat", "candid", "informal")
_PICTO = "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff]"
# One emoji: a pictograph with its variation selector and any zero-width-joined parts (👩‍💻 counts once).
_EMOJI = re.compile(f"{_PICTO}\ufe0f?(?:\u200d{_PICTO}\ufe0f?)*")
HASHTAG = re.compile(r"(?<![\w#])#(\w{2,})")
# Plain replacements for the words style guides most often ban; anything else avoided is dropped.
_SUBSTITUTES = {
    "leverage": "use",
    "utilize": "use",
    "synergy": "teamwork",
    "game-changer": "big help",
    "game changer": "big help",
    "revolutionary": "new",
    "disrupt": "change",
    "crushing it": "doing well",
    "10x": "multiply",
    "unlock your potential": "get better",
    "thought leader": "expert",
}
_CONTRACTIONS = {
    "do not": "don't",
    "does not": "doesn't",
    "did not": "didn't",
    "is not": "isn't",
    "are not": "aren't",
    "cannot": "can't",
    "will not": "won't",
    "I am": "I'm",
    "I will": "I'll",
    "I have": "I've",
    "it is": "it's",
    "that is": "that's",
    "here is": "here's",
    "you are": "you're",
    "you will": "you'll",
    "we are": "we're",
    "what is": "what's",
}


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if isinstance(v, str | int | float) and str(v).strip()]
    return []


def _number(value: Any, default: int, *, pick: str = "max") -> int:
    """A count from 14, "14", "one to two sentences each" (the larger, or the first with pick="first")."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str):
        found = [int(t) if t.isdigit() else _NUMBER_WORDS[t] for t in re.findall(r"\d+|[a-z]+", value.lower())
                 if t.isdigit() or t in _NUMBER_WORDS]  # fmt: skip
        if found:
            return found[0] if pick == "first" else max(found[:2])
    return default


@dataclass(frozen=True)
class Style:
    tone: str
    casual: bool
    prefer: list[str]
    avoid: list[str]
    target_words: int
    max_words: int
    sentences_per_paragraph: int
    emoji_allowed: bool
    emoji_max: int
    emoji: list[str]
    hashtag_max: int
    hashtag_placement: str  # "last line" | "inline"
    hashtags: list[str]
    hook_max_words: int
    min_words: int
    max_post_words: int
    numbered_lists: bool
    openers: list[str]
    ctas: list[str]
    dm_greeting: str
    dm_max_sentences: int
    phrases: list[str]
    sign_off: str


def style_of(voice: Mapping[str, Any] | None) -> Style:
    v: Mapping[str, Any] = voice or {}
    tone = ". ".join(t.rstrip(".") for t in _strings(v.get("tone")) + _strings(v.get("style")))
    sentence = v.get("sentence_length")
    target = _number(_get(sentence, "target_words") if isinstance(sentence, Mapping) else sentence, 14)
    max_words = _number(_get(v, "sentence_length", "max_words"), max(target + 8, int(target * 1.8)))
    emoji = v.get("emoji_policy")
    allowed = bool(_get(emoji, "allowed")) if isinstance(emoji, Mapping) else bool(emoji)
    emoji_max = _number(_get(emoji, "max_per_post"), 2 if allowed else 0) if allowed else 0
    emoji_list = _strings(_get(emoji, "common")) + _strings(_get(emoji, "preferred"))
    emoji_list = [e for e in emoji_list if _EMOJI.fullmatch(e)] or ["👇", "✅", "💡"]
    tags = v.get("hashtags")
    tag_max = _number(_get(tags, "max") if isinstance(tags, Mapping) else tags, 3)
    placement = str(_get(tags, "placement") or "last line").lower()
    formatting = v.get("formatting")
    length = _get(formatting, "length_words")
    dm = v.get("dm_style")
    greeting = _get(dm, "greeting") if isinstance(dm, Mapping) else None
    return Style(
        tone=tone,
        casual=any(word in tone.lower() for word in _CASUAL_TONE),
        prefer=_strings(_get(v, "vocabulary", "prefer")),
        avoid=_strings(_get(v, "vocabulary", "avoid")),
        target_words=max(4, target),
        max_words=max(6, max_words),
        sentences_per_paragraph=max(1, min(4, _number(v.get("paragraphs"), 2))),
        emoji_allowed=allowed and emoji_max > 0,
        emoji_max=emoji_max,
        emoji=emoji_list,
        hashtag_max=tag_max,
        hashtag_placement="inline" if "inline" in placement or "within" in placement else "last line",
        hashtags=[t.lstrip("#") for t in _strings(_get(tags, "common")) if t.lstrip("#")],
        hook_max_words=max(5, _number(_get(formatting, "hook"), 12, pick="first")),
        min_words=_number(_get(length, "min"), 80),
        max_post_words=max(60, _number(_get(length, "max"), 250)),
        numbered_lists="numbered" in str(_get(formatting, "lists") or "").lower(),
        openers=_strings(v.get("example_openers")),
        ctas=_strings(v.get("example_ctas")),
        dm_greeting=str(greeting) if greeting else "Hi {first_name},",
        dm_max_sentences=max(2, _number(_get(dm, "length") if isinstance(dm, Mapping) else None, 4)),
        phrases=_strings(v.get("phrases")),
        sign_off=" ".join(_strings(v.get("sign_off"))[:1]),
    )


# --- facts into templates ----------------------------------------------------------------------


def fill(template: str, facts: Mapping[str, Any]) -> str:
    topic = topic_of(facts)
    values = {
        "topic": topic,
        "Topic": topic[:1].upper() + topic[1:],
        "audience": str(facts.get("audience") or "teams"),
        "magnet": str(facts.get("lead_magnet_name") or "the guide"),
        "Magnet": _capital(str(facts.get("lead_magnet_name") or "the guide")),
        "trigger_word": str(facts.get("trigger_word") or ""),
        "lead_magnet_name": str(facts.get("lead_magnet_name") or "the guide"),
        "first_name": str(facts.get("first_name") or "there"),
        "link": str(facts.get("link") or ""),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def topic_of(facts: Mapping[str, Any]) -> str:
    """The topic as it reads mid-sentence: "Lead generation" -> "lead generation"; names ("LinkedIn ads",
    "Google Ads", "CRM hygiene") are kept as written."""
    topic = " ".join(str(facts.get("topic") or facts.get("lead_magnet_name") or "this").split()).rstrip(".")
    first, *rest = topic.split(" ") if topic else [""]
    if re.fullmatch(r"[A-Z][a-z]+", first) and not any(w[:1].isupper() for w in rest):
        return first.lower() + topic[len(first) :]
    return topic


# --- applying a voice to text ---------------------------------------------------------------------


def words(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", text))


def sentences(text: str) -> list[str]:
    """Sentences of one paragraph, end punctuation kept."""
    parts = re.split(r"(?<=[.!?…])\s+(?=[\"“(A-Z0-9])", " ".join(text.split()))
    return [p for p in (s.strip() for s in parts) if p]


def split_long(sentence: str, max_words: int) -> list[str]:
    """A sentence over `max_words` cut at its natural joints (;, but, and, a comma), halves recursively."""
    if words(sentence) <= max_words:
        return [sentence]
    for joint in ("; ", ", but ", ", and ", ", so ", " because ", ", ", " and "):
        idx = _middle_joint(sentence, joint)
        if idx is None:
            continue
        if joint in (", ", " and ") and not _SUBJECT.match(sentence[idx + len(joint) :]):
            continue  # "grow faster and hire" stays whole: only "..., we hire" is a sentence of its own
        head = sentence[:idx].rstrip(" ,;") + "."
        tail = sentence[idx + len(joint) :].strip()
        if joint.strip(" ,;") in ("but", "so", "because"):
            tail = f"{joint.strip(' ,;').capitalize()} {tail}"
        tail = tail[:1].upper() + tail[1:]
        if words(head) >= 3 and words(tail) >= 3:
            return split_long(head, max_words) + split_long(tail, max_words)
    return [sentence]


_SUBJECT = re.compile(r"(I|we|you|they|it|this|that|he|she|there|most|many|nobody|everyone)\b", re.IGNORECASE)


def _middle_joint(sentence: str, joint: str) -> int | None:
    hits = [m.start() for m in re.finditer(re.escape(joint), sentence)]
    if not hits:
        return None
    middle = len(sentence) / 2
    return min(hits, key=lambda i: abs(i - middle))


def scrub_avoided(text: str, avoid: list[str]) -> str:
    """`text` without the voice's avoided words: a plain substitute for the usual ones, else removed."""
    before = text
    folded = text.lower().replace("’", "'")
    for core, pattern, substitute in _avoided(tuple(avoid)):
        if core in folded:  # the pattern can only match where the word is
            text = pattern.sub(functools.partial(_same_case, substitute=substitute), text)
    if text == before:
        return text
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.!?])", r"\1", text)
    # A removed opener ("I'm excited to announce that ...") leaves a clause: make it a sentence again.
    start = re.compile(r"(^|[.!?][ \t]+|\n)[ \t]*(?:that[ \t]+|,[ \t]*)?([a-z])")
    return start.sub(lambda m: m.group(1) + m.group(2).upper(), text).strip(" ")


@functools.lru_cache(maxsize=256)
def _avoided(avoid: tuple[str, ...]) -> list[tuple[str, re.Pattern[str], str]]:
    """Each avoided word's core (lower case, plain apostrophe), its pattern and its substitute."""
    out = []
    for phrase in avoid:
        core = re.sub(r"\s*\(.*?\)\s*", "", phrase).strip()  # "leverage (as a verb)" -> "leverage"
        if len(core) < 3:
            continue
        substitute = _SUBSTITUTES.get(core.lower(), "")
        body = re.sub("['’]", "['’]", re.escape(core))
        pattern = re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)
        out.append((core.lower().replace("’", "'"), pattern, substitute))
    return out


def _same_case(found: re.Match[str], substitute: str) -> str:
    return substitute.capitalize() if substitute and found.group(0)[:1].isupper() else substitute


def contract(text: str, casual: bool) -> str:
    """Contractions for a casual voice, full forms for a formal one."""
    for src, pattern, dst in _contractions(casual):
        if src in text:  # the pattern can only match where the words are
            text = pattern.sub(dst, text)
    return text


@functools.lru_cache(maxsize=2)
def _contractions(casual: bool) -> list[tuple[str, re.Pattern[str], str]]:
    """`contract`'s replacements in order: each form, as written and capitalised, and what replaces it."""
    out = []
    for full, short in _CONTRACTIONS.items():
        src, dst = (full, short) if casual else (short, full)
        out.append((src, re.compile(rf"\b{re.escape(src)}\b"), dst))
        out.append(
            (src.capitalize(), re.compile(rf"\b{re.escape(src.capitalize())}\b"), dst[:1].upper() + dst[1:])
        )
    return out


def strip_emoji(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", _EMOJI.sub("", text)).strip()


def cap_emoji(text: str, limit: int) -> str:
    """Keep the first `limit` emoji of `text` and drop the rest."""
    seen = 0

    def keep(match: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return match.group(0) if seen <= limit else ""

    return "\n".join(re.sub(r"[ \t]{2,}", " ", line).rstrip() for line in _EMOJI.sub(keep, text).split("\n"))


def count_emoji(text: str) -> int:
    return len(_EMOJI.findall(text))


def hashtag_of(phrase: str) -> str:
    """#CamelCase of the first three meaningful words of a phrase ("lead generation" -> #LeadGeneration)."""
    kept = [w for w in re.findall(r"[A-Za-z0-9]+", phrase) if w.lower() not in _TAG_STOP][:3]
    return "#" + "".join(w[:1].upper() + w[1:] for w in kept) if kept else ""


_TAG_STOP = {"a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "your", "my", "our", "how"}


def place_hashtags(paragraphs: list[str], tags: list[str], style: Style) -> list[str]:
    tags = list(dict.fromkeys(t for t in tags if t))[: style.hashtag_max]
    if not tags:
        return paragraphs
    if style.hashtag_placement == "inline" and paragraphs:
        return [*paragraphs[:-1], f"{paragraphs[-1]} {' '.join(tags)}"]
    return [*paragraphs, " ".join(tags)]


def polish(text: str, style: Style) -> str:
    """The voice's vocabulary and sentence length applied to one paragraph (lists left line by line).
    Runs of "!" or "?" become one: repeated punctuation reads as spam in any voice."""
    text = re.sub(r"([!?])[!?]+", r"\1", contract(scrub_avoided(text, style.avoid), style.casual))
    lines = []
    for line in text.split("\n"):
        if re.match(r"\s*(\d+[.)]|[-•→✅])\s", line):
            lines.append(line)
            continue
        lines.append(" ".join(part for s in sentences(line) for part in split_long(s, style.max_words)))
    return "\n".join(lines)
