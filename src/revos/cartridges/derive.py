"""A voice learned from a person's own posts, deterministically: the same posts give the same voice.

The keys are the system cartridges' vocabulary (20260101001900_seed_system_cartridges.sql), so a learned
voice overrides exactly what it measured and inherits the rest: `sentence_length`, `paragraphs`,
`emoji_policy`, `hashtags`, `formatting`, `example_openers` (hooks: first lines), `example_ctas` (last
lines asking a question or telling the reader to act), plus `phrases` (recurring word sequences),
`sign_off` (a closing line the author repeats) and `formality` (0 casual … 1 formal).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")
HASHTAG = re.compile(r"(?<![\w#])#([^\W_][\w-]*)")
SENTENCE = re.compile(r"[^.!?…]+[.!?…]*")
CONTRACTION = re.compile(r"\b\w+(?:n't|['’](?:re|m|ll|ve|d|s))\b", re.IGNORECASE)
IMPERATIVES = _set(
    "comment drop share tell let follow click read download dm message grab join try check send reply book "
    "sign get subscribe repost save write ask start stop grab learn see watch register apply call email "
    "visit find take bookmark tag vote connect"
)
CASUAL_WORDS = _set(
    "lol gonna wanna gotta super awesome folks hey guys yeah yep ok okay cool stuff kinda honestly literally "
    "crazy totally omg btw tbh"
)
STOPWORDS = _set(
    "a an the and or but if so to of in on at for with by from as is are was were be been it its this that "
    "these those i you we they he she my your our their me us them not no do does did have has had will "
    "would can could just than then there here what which who how when why all any more most very"
)
MAX_EXAMPLES = 5
MAX_PHRASES = 10
LINE_MAX = 200
HOOK_MAX_WORDS = 25
JOINERS = frozenset({"and", "or", "but", "so"})


def _is_emoji(char: str) -> bool:
    return ord(char) >= 0x2190 and unicodedata.category(char) == "So"


def _words(text: str) -> list[str]:
    return WORD.findall(HASHTAG.sub(" ", text))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _only_hashtags(line: str) -> bool:
    return bool(HASHTAG.search(line)) and not _words(line)


def _pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _norm(line: str) -> str:
    return " ".join(w.lower() for w in WORD.findall(line))


def _sentences(text: str) -> list[list[str]]:
    out = []
    for line in _lines(text):
        if _only_hashtags(line):
            continue
        for chunk in SENTENCE.findall(line):
            words = _words(chunk)
            if words:
                out.append(words)
    return out


def _closing_lines(texts: Sequence[str]) -> list[str]:
    """Each post's last line that is not only hashtags ('' when it has none)."""
    closing = []
    for text in texts:
        lines = [line for line in _lines(text) if not _only_hashtags(line)]
        closing.append(lines[-1] if lines else "")
    return closing


def sign_off(texts: Sequence[str]) -> str | None:
    """A short closing line the author ends at least two posts (and a third of them) with."""
    closing = [(_norm(line), line) for line in _closing_lines(texts) if line]
    counts = Counter(norm for norm, _ in closing if 0 < len(norm.split()) <= 6 and "?" not in norm)
    if not counts:
        return None
    norm, n = max(counts.items(), key=lambda kv: (kv[1], -len(kv[0]), kv[0]))
    if n < 2 or n * 3 < len(texts):
        return None
    return next(line for key, line in closing if key == norm)


def _is_content(word: str) -> bool:
    """A word that carries meaning: not a stopword, a number or a contraction."""
    return word not in STOPWORDS and not word.isdigit() and "'" not in word and "’" not in word


def _hook(text: str) -> str:
    """The post's first line; its first sentence when the line is a whole paragraph."""
    line = _lines(text)[0]
    if len(WORD.findall(line)) > HOOK_MAX_WORDS:
        first = SENTENCE.match(line)
        return first.group(0).strip() if first else line
    return line


def _is_cta(line: str) -> bool:
    if "?" in line:
        return True
    words = WORD.findall(line)
    return bool(words) and words[0].lower() in IMPERATIVES


def _distinct(lines: Sequence[str], limit: int) -> list[str]:
    seen: set[str] = set()
    out = []
    for line in lines:
        key = _norm(line)
        if line and key and key not in seen:
            seen.add(key)
            out.append(line[:LINE_MAX])
        if len(out) == limit:
            break
    return out


def phrases(texts: Sequence[str], *, exclude: Sequence[str] = ()) -> list[str]:
    """Word sequences of two to four words used in at least two posts, most widespread first; shorter
    sequences inside a kept longer one (as widespread) are dropped."""
    skip = {_norm(line) for line in exclude if line}
    df: Counter[str] = Counter()
    for text in texts:
        seen: set[str] = set()
        for line in _lines(text):
            if _norm(line) in skip:
                continue
            for words in _sentences(line):
                lowered = [w.lower() for w in words]
                for n in (2, 3, 4):
                    for i in range(len(lowered) - n + 1):
                        window = lowered[i : i + n]
                        content = sum(1 for w in window if _is_content(w))
                        # two content words, or a longer expression ending on one ("in our data")
                        if content == n == 2 or (
                            n > 2 and _is_content(window[-1]) and window[0] not in JOINERS
                        ):
                            seen.add(" ".join(window))
        df.update(seen)
    ranked = sorted(
        ((g, n) for g, n in df.items() if n >= 2), key=lambda x: (-x[1], -len(x[0].split()), x[0])
    )
    kept: list[tuple[str, int]] = []
    for gram, n in ranked:
        if any(f" {gram} " in f" {longer} " and n <= m for longer, m in kept):
            continue
        kept.append((gram, n))
        if len(kept) == MAX_PHRASES:
            break
    return [g for g, _ in kept]


def formality(texts: Sequence[str]) -> dict[str, Any]:
    """0 (casual) … 1 (formal), from contractions, exclamations, emoji, casual words, word and sentence
    length."""
    joined = "\n".join(texts)
    words = _words(joined)
    if not words:
        return {"score": 0.5, "label": "neutral"}
    per100 = 100 / len(words)
    casual = (
        len(CONTRACTION.findall(joined)) * per100
        + joined.count("!") * per100 * 1.5
        + sum(1 for c in joined if _is_emoji(c)) * per100
        + sum(1 for w in words if w.lower() in CASUAL_WORDS) * per100 * 2
    )
    sentence_words = _mean([len(s) for t in texts for s in _sentences(t)])
    formal = (_mean([len(w) for w in words]) - 4.0) * 0.5 + (sentence_words - 12) * 0.03
    score = round(min(1.0, max(0.0, 0.6 + formal * 0.2 - casual * 0.08)), 2)
    label = "formal" if score >= 0.66 else "casual" if score <= 0.4 else "neutral"
    return {"score": score, "label": label}


def _emoji_policy(texts: Sequence[str]) -> dict[str, Any]:
    per_post = [[c for c in t if _is_emoji(c)] for t in texts]
    counts = [len(e) for e in per_post]
    common = Counter(c for e in per_post for c in e)
    using = sum(1 for n in counts if n)
    return {
        "allowed": using * 4 >= len(texts) and using > 0,
        "max_per_post": int(_pct(counts, 0.9)),
        "per_post": round(_mean(counts), 1),
        "common": [e for e, _ in sorted(common.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EXAMPLES]],
    }


def _hashtags(texts: Sequence[str]) -> dict[str, Any]:
    tags = [HASHTAG.findall(t) for t in texts]
    counts = [len(t) for t in tags]
    spelled: dict[str, Counter[str]] = {}
    for tag in (t for post in tags for t in post):
        spelled.setdefault(tag.lower(), Counter())[tag] += 1
    ranked = sorted(spelled.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    last_lines = [_lines(t)[-1] for t in texts if _lines(t)]
    on_last = sum(len(HASHTAG.findall(line)) for line in last_lines if _only_hashtags(line))
    total = sum(counts)
    return {
        "max": int(_pct(counts, 0.9)),
        "per_post": round(_mean(counts), 1),
        "common": [f"#{spellings.most_common(1)[0][0]}" for _, spellings in ranked[:MAX_EXAMPLES]],
        "placement": "none" if not total else "last line" if on_last * 5 >= total * 3 else "inline",
    }


def _formatting(texts: Sequence[str]) -> tuple[dict[str, Any], str]:
    lengths = [len(_words(t)) for t in texts]
    paragraphs = [[p for p in re.split(r"\n\s*\n", t.strip()) if p.strip()] for t in texts]
    sentences_per_paragraph = _mean([len(_sentences(p)) for ps in paragraphs for p in ps])
    blank_lines = sum(1 for ps in paragraphs if len(ps) > 1) * 2 >= len(texts)
    formatting = {
        "length_words": {
            "min": int(_pct(lengths, 0.1)),
            "max": int(_pct(lengths, 0.9)),
            "median": int(_pct(lengths, 0.5)),
        },
        "lines_per_post": round(_mean([len(_lines(t)) for t in texts]), 1),
        "paragraphs_per_post": round(_mean([len(ps) for ps in paragraphs]), 1),
        "sentences_per_paragraph": round(sentences_per_paragraph, 1),
        "blank_line_between_paragraphs": blank_lines,
    }
    shape = f"about {sentences_per_paragraph:.1f} sentences each"
    prose = f"{shape}, separated by a blank line" if blank_lines else f"{shape}, lines without blank lines"
    return formatting, prose


def derive_voice(texts: Sequence[str], engagement: Sequence[float] | None = None) -> dict[str, Any]:
    """The voice of `texts` (the author's own posts, newest first). `engagement` (one number per post)
    orders the examples, best first; ties keep the given order."""
    posts = [t.strip() for t in texts if t and t.strip()]
    if not posts:
        raise ValueError("no text to learn a voice from")
    scores = list(engagement or [])[: len(posts)] + [0.0] * max(0, len(posts) - len(engagement or []))
    order = sorted(range(len(posts)), key=lambda i: (-scores[i], i))
    sentence_lengths = [len(s) for t in posts for s in _sentences(t)]
    closing_line = sign_off(posts)
    closing_norm = _norm(closing_line or "")
    hooks = [_hook(posts[i]) for i in order]
    ctas = []
    for i in order:
        lines = [ln for ln in _lines(posts[i]) if not _only_hashtags(ln) and _norm(ln) != closing_norm]
        if len(lines) > 1 and _is_cta(lines[-1]):
            ctas.append(lines[-1])
    formatting, paragraphs = _formatting(posts)
    return {
        "sentence_length": {
            "target_words": round(_mean(sentence_lengths)),
            "max_words": int(_pct(sentence_lengths, 0.9)),
        },
        "paragraphs": paragraphs,
        "emoji_policy": _emoji_policy(posts),
        "hashtags": _hashtags(posts),
        "formatting": formatting,
        "example_openers": _distinct(hooks, MAX_EXAMPLES),
        "example_ctas": _distinct(ctas, MAX_EXAMPLES),
        "phrases": phrases(posts, exclude=[closing_line] if closing_line else []),
        "sign_off": closing_line,
        "formality": formality(posts),
    }
