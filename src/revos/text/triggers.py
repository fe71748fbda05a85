"""Does a LinkedIn comment contain a campaign's trigger word?

A post says "comment GUIDE and I'll send it"; people comment "Guide please 🙏", "#guide", "GUIDE!!",
"guíde" or "𝗚𝗨𝗜𝗗𝗘". :func:`matches_trigger` answers whether a comment used one of the campaign's
trigger words or phrases.

Exact matching (the default):

* Text and triggers are normalised the same way: compatibility decomposition (NFKD, which also maps
  fullwidth and "bold/italic" mathematical letters to plain ones), casefold, a few letters that do not
  decompose are spelled out (ß→ss, ø→o, æ→ae, œ→oe, ł→l, đ/ð→d, þ→th, ı→i, ħ→h), and combining marks
  (accents) are dropped. Invisible format characters (zero-width joiners, soft hyphens, BOM) are
  removed; a zero-width space counts as a space.
* Word characters are letters and digits. A trigger matches only whole words: "guide" matches
  "#guide", "@GUIDE!", "guide🙏", "«guide»", "guide's", but not "guidelines", "misguided" or "guide2".
* Punctuation, emoji and symbols at the edges of a trigger word are ignored ("#GUIDE" as a trigger is
  the word "guide"). Punctuation inside a trigger word ("e-book") matches any run of non-word
  characters between the two parts ("e-book", "e–book", "e book"), never nothing ("ebook").
* The words of a multi-word trigger ("free guide") match when separated by whitespace of any kind
  (spaces, tabs, newlines, NBSP, ...), optionally decorated with emoji, '#', '@', quotes, brackets or
  asterisks ("free 🔥 #guide"), but not across clause punctuation (. , ; : ! ? …): "free. Guide" is
  two sentences, not the phrase.
* A trigger made only of emoji or symbols ("🔥") has no words: it matches when it appears anywhere in
  the comment (after the same normalisation, with emoji variation selectors dropped).
* Empty or blank triggers are ignored; no triggers at all never match.

Fuzzy matching (``fuzzy=True``, a per-campaign setting) additionally accepts, for each word of a
trigger that is made only of letters, a comment word ``w`` for trigger word ``t`` when:

1. ``w`` is ``t`` with letters stretched: every run of a letter in ``t`` appears in ``w`` as a run of the
   same letter at least as long, in the same order ("guiiide", "guidee", "gggguide" for "guide";
   "book" → "booook", but never "bok"); or
2. ``t`` has at least 5 letters and ``w``, or ``w`` with each run of three or more identical letters
   shrunk to one letter, is within one edit of ``t``: one letter inserted, deleted or substituted, or
   two adjacent letters swapped ("gude", "guidde", "gwide", "giude", "guidr" for "guide").

Comment words containing digits never match fuzzily, and trigger words containing digits (or shorter
than 5 letters, for rule 2) only match exactly or stretched. The whole-word, phrase and normalisation
rules above still apply. Fuzzy matching trades precision for recall ("guide" also matches "glide"),
which is why it is off by default.

Compiled triggers are cached (:func:`compile_triggers`), so matching thousands of comments against the
same triggers costs one normalisation and one regex search per comment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

__all__ = ["TriggerMatcher", "compile_triggers", "matches_trigger", "normalize"]

# Letters that NFKD leaves alone but that people treat as accented forms of a base letter.
# casefold() already turns ß/ẞ into "ss" and ſ into "s".
_SPELL_OUT = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŀ": "l",
        "ĸ": "k",
        # Invisible characters pasted from other apps; a zero-width space separates words, the others sit
        # inside words (soft hyphen, joiners) and must not split them.
        "\u200b": " ",
        "\u00ad": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        # Emoji presentation selectors: "🔥" and "🔥\ufe0f" are the same emoji to a reader.
        "\ufe0e": None,
        "\ufe0f": None,
    }
)

_WORD = r"[^\W_]"  # a letter or digit: \w without the underscore
_NOT_WORD_BEFORE = r"(?<![^\W_])"
_NOT_WORD_AFTER = r"(?![^\W_])"
# Clause punctuation that breaks a phrase; other non-word characters (emoji, '#', quotes) do not.
_CLAUSE = ".,;:!?\u2026\u00a1\u00bf"
_GAP_CHAR = rf"(?:[^\w\s{re.escape(_CLAUSE)}]|_)"  # decoration: not a word, space or clause character
# Between two words of a phrase: at least one whitespace character, plus optional decoration. The
# quantifiers are possessive because a gap can never contain the next word's first character: without
# that, a long run of spaces or emoji after the first word would be re-split in every possible way.
_PHRASE_GAP = rf"{_GAP_CHAR}*+\s(?:\s|{_GAP_CHAR})*+"
# Between the parts of one trigger word written with inner punctuation ("e-book").
_INNER_GAP = r"[\W_]++"
_WORD_RUN = re.compile(r"[^\W_]+")
_PHRASE_GAP_RE = re.compile(_PHRASE_GAP)
_INNER_GAP_RE = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Fold case and accents the way triggers are compared (see the module docstring)."""
    if text.isascii():
        # The common case: no decomposition or marks to deal with, and lower() equals casefold() here.
        return text.lower()
    text = unicodedata.normalize("NFKD", text).casefold().translate(_SPELL_OUT)
    # casefold can produce new decomposable characters ("İ" → "i̇"), so decompose after it too.
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True, slots=True)
class _Trigger:
    """One trigger after normalisation.

    ``parts`` are its words' letter/digit runs; ``joins[i]`` tells how ``parts[i]`` attaches to
    ``parts[i + 1]``: True for whitespace between words, False for inner punctuation ("e-book").
    ``literal`` is set instead for triggers made only of symbols or emoji."""

    parts: tuple[str, ...]
    joins: tuple[bool, ...]
    literal: str | None = None


def _parse(trigger: str) -> _Trigger | None:
    norm = normalize(trigger)
    parts: list[str] = []
    joins: list[bool] = []
    for chunk in norm.split():
        runs = _WORD_RUN.findall(chunk)
        for i, run in enumerate(runs):
            if parts:
                joins.append(i == 0)
            parts.append(run)
    if parts:
        return _Trigger(tuple(parts), tuple(joins))
    literal = "".join(norm.split())
    return _Trigger((), (), literal) if literal else None


def _exact_regex(trigger: _Trigger) -> str:
    if trigger.literal is not None:
        return re.escape(trigger.literal)
    out = [_NOT_WORD_BEFORE, re.escape(trigger.parts[0])]
    for join, part in zip(trigger.joins, trigger.parts[1:], strict=True):
        out.append(_PHRASE_GAP if join else _INNER_GAP)
        out.append(re.escape(part))
    out.append(_NOT_WORD_AFTER)
    return "".join(out)


def _runs(word: str) -> list[tuple[str, int]]:
    """Run-length encoding: "guiiide" → [("g", 1), ("u", 1), ("i", 3), ("d", 1), ("e", 1)]."""
    out: list[tuple[str, int]] = []
    for ch in word:
        if out and out[-1][0] == ch:
            out[-1] = (ch, out[-1][1] + 1)
        else:
            out.append((ch, 1))
    return out


def _is_stretched(word: str, target: str) -> bool:
    """Is ``word`` ``target`` with some letters repeated ("guiiide" for "guide", never "bok" for "book")?"""
    if len(word) < len(target):
        return False
    w, t = _runs(word), _runs(target)
    return len(w) == len(t) and all(wc == tc and wn >= tn for (wc, wn), (tc, tn) in zip(w, t, strict=True))


def _shrink_long_runs(word: str) -> str:
    """Shrink each run of 3+ identical letters to one letter: "guiiidr" → "guidr"."""
    return "".join(ch if n >= 3 else ch * n for ch, n in _runs(word))


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance ≤ 1: equal, or one insertion, deletion, substitution or swap of
    two adjacent characters apart."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]  # a has one extra character
    return a[i:] == b[i + 1 :]


def _fuzzy_word(word: str, target: str) -> bool:
    if word == target:
        return True
    if not (word.isalpha() and target.isalpha()):
        return False
    if _is_stretched(word, target):
        return True
    if len(target) < 5:
        return False
    return _within_one_edit(word, target) or _within_one_edit(_shrink_long_runs(word), target)


class TriggerMatcher:
    """A compiled set of triggers. Build with :func:`compile_triggers` (cached) and call :meth:`matches`."""

    __slots__ = ("_fuzzy", "_literals", "_pattern", "_triggers", "fuzzy", "triggers")

    def __init__(self, triggers: Iterable[str], *, fuzzy: bool = False) -> None:
        self.triggers = tuple(triggers)
        self.fuzzy = fuzzy
        parsed = [p for p in map(_parse, self.triggers) if p is not None]
        # Longest first so that a phrase is tried before a trigger that is its prefix; only the answer
        # matters, but it keeps the alternation predictable.
        alternatives = sorted({_exact_regex(p) for p in parsed}, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None
        self._triggers = tuple(p for p in parsed if p.literal is None)
        self._fuzzy = fuzzy and bool(self._triggers)

    def matches(self, text: str) -> bool:
        if self._pattern is None:
            return False
        norm = normalize(text)
        if self._pattern.search(norm):
            return True
        return self._fuzzy and self._fuzzy_search(norm)

    def _fuzzy_search(self, norm: str) -> bool:
        tokens = list(_WORD_RUN.finditer(norm))
        if not tokens:
            return False
        words = [m.group() for m in tokens]
        # gaps[i]: how token i attaches to token i + 1 (None: clause punctuation, not a phrase).
        gaps: list[bool | None] = []
        for left, right in pairwise(tokens):
            between = norm[left.end() : right.start()]
            if _PHRASE_GAP_RE.fullmatch(between):
                gaps.append(True)
            elif _INNER_GAP_RE.fullmatch(between):
                gaps.append(False)
            else:  # pragma: no cover - two regex word runs are always separated by non-word characters
                gaps.append(None)
        for trig in self._triggers:
            n = len(trig.parts)
            for start in range(len(words) - n + 1):
                if not _fuzzy_word(words[start], trig.parts[0]):
                    continue
                if all(
                    self._gap_ok(gaps[start + k], trig.joins[k])
                    and _fuzzy_word(words[start + k + 1], trig.parts[k + 1])
                    for k in range(n - 1)
                ):
                    return True
        return False

    @staticmethod
    def _gap_ok(gap: bool | None, want_phrase_gap: bool) -> bool:
        # Inner punctuation in a trigger ("e-book") accepts any separator, like the exact regex does.
        return gap is True if want_phrase_gap else gap is not None


@lru_cache(maxsize=1024)
def _compiled(triggers: tuple[str, ...], fuzzy: bool) -> TriggerMatcher:
    return TriggerMatcher(triggers, fuzzy=fuzzy)


def compile_triggers(trigger_words: Sequence[str], *, fuzzy: bool = False) -> TriggerMatcher:
    """The cached matcher for these triggers; reuse it to match many comments."""
    return _compiled(tuple(trigger_words), fuzzy)


def matches_trigger(text: str, trigger_words: Sequence[str], *, fuzzy: bool = False) -> bool:
    """True when ``text`` contains one of ``trigger_words`` (see the module docstring for the rules)."""
    return _compiled(tuple(trigger_words), fuzzy).matches(text)
