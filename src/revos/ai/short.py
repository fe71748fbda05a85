"""Short texts in a voice: DMs, comments on someone's post, a voice's description, a visual brief and a
plain review of a draft. Same contract as revos.ai.writer: (request, style, facts, rng, index) -> text."""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import Counter
from typing import Any

from revos.ai.base import CompletionRequest
from revos.ai.voice import (
    HASHTAG,
    Style,
    contract,
    count_emoji,
    fill,
    scrub_avoided,
    sentences,
    strip_emoji,
    topic_of,
    words,
)

Facts = dict[str, Any]

_THANKS = (
    "Thanks for your comment on my post about {topic}.",
    "Thank you for commenting on my {topic} post.",
    "Great to see your comment on the {topic} post.",
)
_THANKS_PLAIN = (
    "Thanks for your comment on my post.",
    "Thank you for commenting.",
    "Thanks for the comment.",
)
_OFFER = ("Happy to send you {magnet}.", "{Magnet} is ready for you.", "I would be glad to share {magnet}.")
_ASK_EMAIL = (
    "What is the best email address to send it to?",
    "Which email address should I send it to?",
    "Where should I send it? An email address works best.",
)
_DELIVER = ("Here it is, as promised.", "Here is {magnet}, as promised.", "As promised, here is {magnet}.")
_AFTER_DELIVERY = (
    "Let me know which part is most useful to you.",
    "I would love to hear what you think once you have tried it.",
    "If anything is unclear, just reply here.",
)
_FOLLOW_UP = (
    "Just checking that {magnet} reached you.",
    "Did you get a chance to look at {magnet}?",
    "Quick follow-up on {magnet}.",
)
_FOLLOW_UP_ASK = (
    "Happy to resend it if it got lost.",
    "If it did not arrive, tell me and I will send it again.",
    "Any questions, just reply here.",
)
_AGREE = (
    "This is spot on: {excerpt}.",
    "The point about {keyword} is the one most people skip.",
    "Really useful, especially {excerpt}.",
    "{Keyword} is where I see the biggest gap too.",
)
_ADD = (
    "In my experience the hard part is keeping it up once the first results show up.",
    "What made the difference for us was writing the steps down and reviewing them weekly.",
    "Saving this for my next planning session.",
    "I would add: measure it before changing it, or you never know what worked.",
)
_ASK = (
    "How long did it take before you saw a change?",
    "What was the hardest part to get right?",
    "Would you do it the same way with a smaller team?",
)
_STOP = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "at",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "you",
        "we",
        "they",
        "he",
        "she",
        "my",
        "your",
        "our",
        "their",
        "me",
        "us",
        "them",
        "not",
        "no",
        "so",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "will",
        "just",
        "than",
        "then",
        "there",
        "here",
        "what",
        "when",
        "how",
        "why",
        "who",
        "which",
        "all",
        "any",
        "more",
        "most",
        "very",
        "also",
        "into",
        "about",
        "out",
        "up",
        "one",
    ]
)


def _sentences_out(items: list[str], style: Style) -> str:
    text = " ".join(i for i in items if i)
    return strip_emoji(contract(scrub_avoided(text, style.avoid), style.casual))


def _greeting(style: Style, facts: Facts) -> str:
    name = str(facts.get("first_name") or "").strip()
    greeting = style.dm_greeting
    if not name:
        greeting = re.sub(r"\s*\{first_name\}", "", greeting).replace(" ,", ",")
        greeting = greeting if greeting.strip(" ,!") else "Hi,"
    return greeting.replace("{first_name}", name)


def dm(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    """One LinkedIn DM: greeting, then two to four short sentences for its stage, in the voice. A link
    goes last, on its own line, where LinkedIn shows its preview."""
    stage = str(facts.get("stage") or ("deliver" if facts.get("link") else "ask_email"))
    if stage == "deliver":
        body = [rng.choice(_DELIVER), rng.choice(_AFTER_DELIVERY)]
    elif stage == "follow_up":
        body = [rng.choice(_FOLLOW_UP), rng.choice(_FOLLOW_UP_ASK)]
    else:
        body = [rng.choice(_OFFER), rng.choice(_ASK_EMAIL)]
    if stage != "follow_up" and (facts.get("topic") or index % 2 == 0):
        body.insert(0, rng.choice(_THANKS if facts.get("topic") else _THANKS_PLAIN))
    said = [_capital(fill(s, facts)) for s in body][: style.dm_max_sentences]
    greeting = _greeting(style, facts)
    text = _sentences_out(said, style)
    if greeting.endswith(",") and not re.match(r"I\b", text):
        text = text[:1].lower() + text[1:]
    text = f"{greeting} {text}"
    if style.emoji_allowed and style.casual and rng.random() < 0.5:
        text += " 🙌" if "🙌" in style.emoji else f" {style.emoji[0]}"
    if stage == "deliver" and facts.get("link"):
        text += f"\n{facts['link']}"
    return text


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _keywords(text: str) -> list[str]:
    """What the post is about: its recurring two-word phrases first ("reply rate"), then its longer
    words, most frequent first."""
    body = HASHTAG.sub("", text).lower()
    pairs: Counter[str] = Counter()
    singles: Counter[str] = Counter()
    for sentence in re.split(r"[.!?:;,\n]", body):
        tokens = re.findall(r"[a-z][a-z'-]*", sentence)
        for a, b in itertools.pairwise(tokens):
            if (
                a not in _STOP
                and b not in _STOP
                and len(a) > 2
                and len(b) > 3
                and not a.endswith(("ed", "ing"))
            ):
                pairs[f"{a} {b}"] += 1
        singles.update(t for t in tokens if t not in _STOP and len(t) > 5 and not t.endswith(("ed", "ly")))
    return [p for p, _ in pairs.most_common(3)] + [w for w, _ in singles.most_common(3)]


def _excerpt(text: str, keywords: list[str]) -> str:
    """The post's most telling clause (the sentence richest in its keywords, cut to twelve words)."""
    candidates = [s for s in sentences(HASHTAG.sub("", text).replace("\n", " ")) if words(s) >= 3]
    if not candidates:
        return ""
    best = max(candidates, key=lambda s: sum(k in s.lower() for k in keywords) - 0.01 * words(s))
    clause = re.split(r"[,;:.!?]", best)[0].strip() or best
    return " ".join(clause.split()[:12]).strip("\"'“”")


@functools.lru_cache(maxsize=512)
def _reading(post: str) -> tuple[list[str], str]:
    """What a post is about and its most telling clause (every member of a pod comments on the same post)."""
    keywords = _keywords(post) or ["this"]
    return keywords, _excerpt(post, keywords)


def comment(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    """A short comment (two sentences, under 40 words) about the given post; no hashtags, no pitch."""
    post = str(facts.get("post_text") or facts.get("text") or request.prompt)
    keywords, excerpt = _reading(post)
    keyword = keywords[index % len(keywords)] if index else keywords[0]
    values = {"excerpt": f'"{excerpt[:1].lower() + excerpt[1:]}"' if excerpt else keyword}
    values |= {"keyword": keyword, "Keyword": keyword.capitalize()}
    agree = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), rng.choice(_AGREE))
    follow = rng.choice(_ASK if rng.random() < 0.5 else _ADD)
    name = str(facts.get("author_name") or facts.get("first_name") or "").split(" ")[0]
    opener = f"{name}, " if name and rng.random() < 0.5 else ""
    text = _sentences_out([opener + (agree[:1].lower() + agree[1:] if opener else agree), follow], style)
    if style.emoji_allowed and style.casual and index % 2 == 1:
        text += f" {style.emoji[index % len(style.emoji)]}"
    return text


def describe(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    """A prose portrait of the voice, for a cartridge's description."""
    parts = []
    per = (
        "one sentence"
        if style.sentences_per_paragraph == 1
        else f"up to {style.sentences_per_paragraph} sentences"
    )
    parts.append(
        f"Sentences of about {style.target_words} words (at most {style.max_words}), {per} per paragraph, "
        f"posts of {style.min_words} to {style.max_post_words} words opening on a hook under "
        f"{style.hook_max_words} words."
    )
    parts.append(f"Up to {style.emoji_max} emoji per post." if style.emoji_allowed else "No emoji.")
    if style.hashtag_max:
        where = "inline" if style.hashtag_placement == "inline" else "on the last line"
        common = f" (often {', '.join('#' + t for t in style.hashtags[:3])})" if style.hashtags else ""
        parts.append(f"At most {style.hashtag_max} hashtags, {where}{common}.")
    else:
        parts.append("No hashtags.")
    if style.openers:
        parts.append(f'Opens like: "{style.openers[0]}"')
    ctas = [c for c in style.ctas if c]
    if ctas:
        parts.append(f'Closes with a call to action such as: "{ctas[0]}"')
    if style.phrases:
        parts.append(f"Recurring phrases: {', '.join(style.phrases[:5])}.")
    if style.prefer:
        parts.append(f"Likes the words {', '.join(style.prefer[:5])}.")
    if style.avoid:
        parts.append(f"Never writes {', '.join(style.avoid[:5])}.")
    if style.sign_off:
        parts.append(f'Signs off with "{style.sign_off}".')
    shift = index % len(parts)
    parts = parts[shift:] + parts[:shift]  # variants: the same facts, another order
    tone = [_capital(t.strip()) + "." for t in style.tone.split(". ") if t.strip()]
    return " ".join(tone + parts)


def brief(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    """A visual brief: a carousel outline slide by slide, an image prompt and alt text."""
    text = str(facts.get("text") or facts.get("post_text") or request.prompt)
    lines = [ln.strip() for ln in text.split("\n") if ln.strip() and not HASHTAG.fullmatch(ln.strip())]
    hook_line = lines[0] if lines else fill("{Topic}", facts)
    items = [
        re.sub(r"^(\d+[.)]|[-•→*✅])\s*", "", ln) for ln in lines if re.match(r"(\d+[.)]|[-•→*✅])\s", ln)
    ]
    if not items:
        items = [s for ln in lines[1:] for s in sentences(ln)][:5]
    slides = [f"Slide 1 (cover): {strip_emoji(hook_line)}"]
    slides += [f"Slide {i + 2}: {strip_emoji(item)}" for i, item in enumerate(items[:6])]
    closing = (
        "Comment"
        + (f' "{facts["trigger_word"]}"' if facts.get("trigger_word") else "")
        + " for the full guide"
    )
    slides.append(f"Slide {len(slides) + 1} (close): {closing}")
    topic = topic_of(facts) if facts.get("topic") else " ".join(_keywords(text)[:3]) or "the post's subject"
    palette = "warm, bright colours" if style.casual else "a restrained palette of two brand colours"
    kind = ("a clean, flat illustration", "a simple diagram", "a candid workplace photo")[index % 3]
    return "\n".join(
        [
            "Carousel outline:",
            *slides,
            "",
            f"Image prompt: {kind} about {topic}, {palette}, generous white space, one focal point, "
            "no text in the image, square 1080x1080.",
            f"Alt text: {_capital(kind.split(' ', 1)[1].removeprefix('clean, '))} about {topic}: "
            f"{strip_emoji(hook_line)}",
        ]
    )


def check(request: CompletionRequest, style: Style, facts: Facts, rng: random.Random, index: int) -> str:
    """A plain review of a draft against the voice: one finding per line, or a single OK line."""
    text = str(facts.get("text") or request.prompt)
    findings = []
    long_ones = [s for s in sentences(text.replace("\n", " ")) if words(s) > style.max_words]
    if long_ones:
        findings.append(f"{len(long_ones)} sentence(s) over {style.max_words} words: split them.")
    avoided = [
        a for a in style.avoid if re.search(rf"(?<!\w){re.escape(a.split(' (')[0])}(?!\w)", text, re.I)
    ]
    if avoided:
        findings.append(f"Words the voice avoids: {', '.join(avoided)}.")
    if count_emoji(text) > style.emoji_max:
        findings.append(f"{count_emoji(text)} emoji; the voice allows {style.emoji_max}.")
    if len(HASHTAG.findall(text)) > style.hashtag_max:
        findings.append(f"{len(HASHTAG.findall(text))} hashtags; the voice uses at most {style.hashtag_max}.")
    if re.search(r"https?://", text):
        findings.append(
            "Contains a link: LinkedIn shows posts with links to fewer people; move it to a comment."
        )
    return "\n".join(findings) if findings else "OK: the text follows the voice."
