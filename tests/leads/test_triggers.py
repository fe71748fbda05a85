"""matches_trigger: whole words, case/accents/punctuation folded, phrases, fuzzy mode, cache."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import revos
from revos.text.triggers import compile_triggers, matches_trigger, normalize

# (comment, triggers) pairs that must match exactly (and therefore also fuzzily).
POSITIVE: list[tuple[str, str, list[str]]] = [
    ("plain", "GUIDE", ["guide"]),
    ("trigger-upper", "guide please", ["GUIDE"]),
    ("mixed-case", "GuIdE", ["guide"]),
    ("hashtag", "#guide", ["guide"]),
    ("mention-bang", "@GUIDE!", ["guide"]),
    ("emoji-glued", "guide🙏", ["guide"]),
    ("emoji-before", "🙏guide", ["guide"]),
    ("guillemets", "«guide»", ["guide"]),
    ("guillemets-spaced", "« Guide »", ["guide"]),
    ("curly-quotes", "“GUIDE”", ["guide"]),
    ("parens", "(guide)", ["guide"]),
    ("markdown-bold", "**GUIDE**", ["guide"]),
    ("underscores", "__guide__", ["guide"]),
    ("possessive", "the guide's cover", ["guide"]),
    ("repeated-bang", "GUIDE!!!", ["guide"]),
    ("sentence", "Great post, Guide please!", ["guide"]),
    ("newline", "Great post\nGUIDE\nthanks", ["guide"]),
    ("end-of-text", "I'd love the guide", ["guide"]),
    ("acute-in-text", "guíde", ["guide"]),
    ("accents-in-trigger", "GUIDE", ["GUÍDÉ"]),
    ("combining-mark", "gui\u0301de", ["guide"]),
    ("french-trigger", "Je veux le GUIDE 🙌", ["guide"]),
    ("french-accent", "Intéressé !", ["interesse"]),
    ("french-accent-trigger", "interesse", ["intéressé"]),
    ("spanish", "¡Quiero la GUÍA!", ["guia"]),
    ("spanish-inverted-q", "¿guía?", ["guía"]),
    ("german-eszett", "STRASSE", ["straße"]),
    ("german-eszett-text", "die Straße bitte", ["strasse"]),
    ("german-capital-eszett", "STRAẞE", ["strasse"]),
    ("german-umlaut", "Größe", ["grosse"]),
    ("portuguese", "Quero o GUIA, obrigado!", ["guia"]),
    ("portuguese-tilde", "Informação", ["informacao"]),
    ("italian", "Vorrei la GUIDA per favore", ["guida"]),
    ("italian-grave", "PERCHÈ", ["perche"]),
    ("danish-o-slash", "ØRSTED", ["orsted"]),
    ("danish-ae", "Æble", ["aeble"]),
    ("polish-l-stroke", "Łódź", ["lodz"]),
    ("oe-ligature", "Œuvre", ["oeuvre"]),
    ("turkish-dotted-capital", "İSTANBUL", ["istanbul"]),
    ("turkish-dotless", "ıstanbul", ["istanbul"]),
    ("fullwidth", "ＧＵＩＤＥ", ["guide"]),
    ("math-bold", "𝗚𝗨𝗜𝗗𝗘", ["guide"]),
    ("math-italic", "𝘨𝘶𝘪𝘥𝘦", ["guide"]),
    ("circled", "ⒼⓊⒾⒹⒺ", ["guide"]),
    ("ligature-fi", "ﬁnance", ["finance"]),
    ("soft-hyphen-inside", "gui\u00adde", ["guide"]),
    ("zero-width-joiner-inside", "gui\u200dde", ["guide"]),
    ("zero-width-space-between", "hi\u200bguide", ["guide"]),
    ("digits-in-word", "AI2024", ["ai2024"]),
    ("digits-trigger-alone", "send 2024 please", ["2024"]),
    ("several-triggers-second", "ebook please", ["guide", "ebook"]),
    ("phrase-space", "free guide", ["free guide"]),
    ("phrase-many-spaces", "free     guide", ["free guide"]),
    ("phrase-tab", "free\tguide", ["free guide"]),
    ("phrase-newline", "FREE\nGUIDE", ["free guide"]),
    ("phrase-crlf", "free\r\nguide", ["free guide"]),
    ("phrase-nbsp", "free\u00a0guide", ["free guide"]),
    ("phrase-narrow-nbsp", "free\u202fguide", ["free guide"]),
    ("phrase-ideographic-space", "free\u3000guide", ["free guide"]),
    ("phrase-em-space", "free\u2003guide", ["free guide"]),
    ("phrase-trigger-spaces", "free guide", ["  free    guide  "]),
    ("phrase-trigger-newline", "free guide", ["free\nguide"]),
    ("phrase-hashtags", "#free #guide", ["free guide"]),
    ("phrase-emoji-between", "free 🔥 guide", ["free guide"]),
    ("phrase-quotes", '"free" "guide"', ["free guide"]),
    ("phrase-accents", "GRÁTIS  guía", ["gratis guia"]),
    ("phrase-three-words", "the AI\u00a0playbook\nplease", ["ai playbook"]),
    ("trigger-with-hash", "guide", ["#GUIDE"]),
    ("trigger-with-emoji", "guide", ["guide 🔥"]),
    ("hyphen-trigger-hyphen", "e-book", ["e-book"]),
    ("hyphen-trigger-en-dash", "E–BOOK", ["e-book"]),
    ("hyphen-trigger-space", "e book", ["e-book"]),
    ("hyphenated-text", "guide-book", ["guide"]),
    ("slash", "guide/ebook", ["ebook"]),
    ("emoji-trigger", "Yes 🔥🔥", ["🔥"]),
    ("emoji-trigger-selector", "🔥\ufe0f", ["🔥"]),
    ("emoji-trigger-skin-tone", "👍🏽 thanks", ["👍"]),
    ("blank-triggers-skipped", "guide", ["", "   ", "guide"]),
]

# (comment, triggers) pairs that must not match exactly.
NEGATIVE: list[tuple[str, str, list[str]]] = [
    ("prefix-of-word", "guidelines", ["guide"]),
    ("suffix-of-word", "misguided", ["guide"]),
    ("inside-word", "misguidedness", ["guide"]),
    ("plural", "guides", ["guide"]),
    ("camel-hashtag", "#FreeGuide", ["guide"]),
    ("digit-after", "guide2", ["guide"]),
    ("digit-before", "2guide", ["guide"]),
    ("digits-differ", "AI2025", ["ai2024"]),
    ("number-inside", "12024", ["2024"]),
    ("different-word", "great post", ["guide"]),
    ("typo-not-fuzzy", "giude", ["guide"]),
    ("stretched-not-fuzzy", "guiiide", ["guide"]),
    ("phrase-reversed", "guide free", ["free guide"]),
    ("phrase-word-between", "free the guide", ["free guide"]),
    ("phrase-sentence-break", "It's free. Guide me", ["free guide"]),
    ("phrase-comma", "free, guide", ["free guide"]),
    ("phrase-glued", "freeguide", ["free guide"]),
    ("phrase-glued-hyphen", "free-guide", ["free guide"]),
    ("phrase-first-word-only", "free stuff", ["free guide"]),
    ("hyphen-trigger-glued", "ebook", ["e-book"]),
    ("empty-trigger", "anything", [""]),
    ("blank-trigger", "anything", ["   "]),
    ("no-triggers", "guide", []),
    ("empty-text", "", ["guide"]),
    ("emoji-trigger-absent", "guide", ["🔥"]),
    ("punctuation-only-trigger-absent", "guide", ["!!"]),
    ("cyrillic-lookalike", "gսide", ["guide"]),  # Armenian "ս" is not "u"
    ("french-negative", "Le guidage est top", ["guide"]),
    ("spanish-negative", "guiado por expertos", ["guia"]),
    ("german-negative", "Reiseführer", ["fuhrer"]),
    ("portuguese-negative", "guiar", ["guia"]),
    ("italian-negative", "guidare", ["guida"]),
]


@pytest.mark.parametrize(("text", "triggers"), [pytest.param(t, tr, id=i) for i, t, tr in POSITIVE])
def test_matches(text: str, triggers: list[str]) -> None:
    assert matches_trigger(text, triggers) is True
    assert matches_trigger(text, triggers, fuzzy=True) is True


@pytest.mark.parametrize(("text", "triggers"), [pytest.param(t, tr, id=i) for i, t, tr in NEGATIVE])
def test_does_not_match(text: str, triggers: list[str]) -> None:
    assert matches_trigger(text, triggers) is False


FUZZY_ONLY: list[tuple[str, str, str]] = [
    ("stretched-middle", "guiiide", "guide"),
    ("stretched-end", "guideeee", "guide"),
    ("stretched-start", "gggguide", "guide"),
    ("stretched-short-word", "boooook", "book"),
    ("stretched-caps-emoji", "GUIIIDE 🙏", "guide"),
    ("deletion", "gude", "guide"),
    ("insertion", "guidde", "guide"),
    ("substitution", "gwide", "guide"),
    ("transposition", "giude", "guide"),
    ("last-letter", "guidr", "guide"),
    ("stretch-plus-typo", "guiiidr", "guide"),
    ("accented-typo", "guíd", "guide"),
    ("long-word-typo", "playbok", "playbook"),
    ("phrase-each-word", "freee guidde", "free guide"),
    ("phrase-newline-typo", "FREE\ngiude", "free guide"),
    ("hashtag-typo", "#giude!", "guide"),
    ("french-typo", "intéresé", "intéressé"),
    ("german-typo", "Leitfadn", "leitfaden"),
]

FUZZY_NEGATIVE: list[tuple[str, str, str]] = [
    ("short-word-typo", "bok", "book"),
    ("short-word-substitution", "boot", "book"),
    ("two-edits", "gide!", "guidebook"),
    ("two-substitutions", "gwidr", "guide"),
    ("shrunk-not-stretched", "god", "good"),
    ("digits-not-fuzzed", "guide2", "guide"),
    ("digit-trigger-exact-only", "2025", "2024"),
    ("digit-trigger-stretched", "20244", "2024"),
    ("still-whole-word", "guidelines", "guide"),
    ("still-whole-word-typo", "misgiuded", "guide"),
    ("phrase-needs-both", "fre stuff", "free guide"),
    ("phrase-still-no-clause-break", "free. guide", "free guide"),
    ("unrelated", "great post", "guide"),
]


@pytest.mark.parametrize(("text", "trigger"), [pytest.param(t, tr, id=i) for i, t, tr in FUZZY_ONLY])
def test_fuzzy_matches_what_exact_does_not(text: str, trigger: str) -> None:
    assert matches_trigger(text, [trigger]) is False
    assert matches_trigger(text, [trigger], fuzzy=True) is True


@pytest.mark.parametrize(("text", "trigger"), [pytest.param(t, tr, id=i) for i, t, tr in FUZZY_NEGATIVE])
def test_fuzzy_limits(text: str, trigger: str) -> None:
    assert matches_trigger(text, [trigger], fuzzy=True) is False


def test_accepts_any_sequence_of_triggers() -> None:
    assert matches_trigger("GUIDE", ("guide",))
    assert matches_trigger("GUIDE", ["x", "guide"])


def test_compiled_matchers_are_cached() -> None:
    a = compile_triggers(["guide", "ebook"])
    assert compile_triggers(("guide", "ebook")) is a
    assert compile_triggers(["guide", "ebook"], fuzzy=True) is not a
    assert compile_triggers(["ebook", "guide"]) is not a  # order is part of the key; results agree
    assert a.matches("the ebook!")
    assert compile_triggers(["ebook", "guide"]).matches("the ebook!")


def test_normalize_folds_case_accents_and_special_letters() -> None:
    assert normalize("Ærø Łódź STRAẞE Œuvre Ğ") == "aero lodz strasse oeuvre g"
    assert normalize("ASCII Only") == "ascii only"


def test_lazy_export_from_package() -> None:
    assert revos.matches_trigger is matches_trigger


# --- Properties --------------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_trigger_words = st.text(alphabet=_LETTERS, min_size=3, max_size=10)
_prose_words = st.lists(st.text(alphabet=_LETTERS + "0123456789", min_size=1, max_size=8), max_size=8)
_DECOR = ["#", "@", "!", "?", "«", "»", "“", "”", "'", '"', "(", ")", "*", "🙏", "🔥", "👉", "...", "—", ":"]
_COMBINING = ["\u0301", "\u0300", "\u0302", "\u0308", "\u0303", "\u0327"]


@st.composite
def _decorated(draw: st.DrawFn, word: str) -> str:
    """The word with random case, random accents, and random punctuation/emoji on both sides."""
    letters = []
    for ch in word:
        ch = ch.upper() if draw(st.booleans()) else ch
        if draw(st.integers(0, 3)) == 0:
            ch = unicodedata.normalize("NFC", ch + draw(st.sampled_from(_COMBINING)))
        letters.append(ch)
    before = "".join(draw(st.lists(st.sampled_from(_DECOR), max_size=3)))
    after = "".join(draw(st.lists(st.sampled_from(_DECOR), max_size=3)))
    return before + "".join(letters) + after


@settings(max_examples=150, deadline=None)
@given(
    trigger=_trigger_words,
    before=_prose_words,
    after=_prose_words,
    data=st.data(),
)
def test_decorating_the_trigger_never_changes_the_match(
    trigger: str, before: list[str], after: list[str], data: st.DataObject
) -> None:
    assume(trigger not in before and trigger not in after)
    plain = " ".join([*before, trigger, *after])
    fancy = " ".join([*before, data.draw(_decorated(trigger)), *after])
    assert matches_trigger(plain, [trigger]) is True
    assert matches_trigger(fancy, [trigger]) is True
    assert matches_trigger(fancy, [trigger.upper()]) is True


@settings(max_examples=150, deadline=None)
@given(trigger=_trigger_words, words=_prose_words, data=st.data())
def test_decorating_other_words_never_creates_a_match(
    trigger: str, words: list[str], data: st.DataObject
) -> None:
    assume(trigger not in words)
    fancy = " ".join(data.draw(_decorated(w)) for w in words)
    assert matches_trigger(fancy, [trigger]) is False


@settings(max_examples=150, deadline=None)
@given(trigger=_trigger_words, prefix=st.text(alphabet=_LETTERS + "0123456789", min_size=1, max_size=4))
def test_trigger_glued_to_a_word_never_matches(trigger: str, prefix: str) -> None:
    assert matches_trigger(prefix + trigger, [trigger]) is False
    assert matches_trigger(trigger + prefix, [trigger]) is False


_WHITESPACE = [" ", "\t", "\n", "\r\n", "\u00a0", "\u202f", "\u2003", "\u3000", "  \n "]


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(_trigger_words, min_size=2, max_size=4),
    data=st.data(),
)
def test_phrase_matches_across_any_whitespace(words: list[str], data: st.DataObject) -> None:
    gaps = [data.draw(st.sampled_from(_WHITESPACE)) for _ in words[1:]]
    text = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True))
    assert matches_trigger("Hi! " + text + " 🙏", [" ".join(words)]) is True


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=60), triggers=st.lists(st.text(max_size=12), max_size=3))
def test_exact_match_implies_fuzzy_match(text: str, triggers: list[str]) -> None:
    if matches_trigger(text, triggers):
        assert matches_trigger(text, triggers, fuzzy=True)


_LATIN = _LETTERS + "éèàüöñçøæß" + " \n#!?.,-🙏"


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(alphabet=_LATIN, max_size=60),
    triggers=st.lists(st.text(alphabet=_LATIN, max_size=12), max_size=3),
)
def test_case_of_text_and_triggers_does_not_matter(text: str, triggers: list[str]) -> None:
    expected = matches_trigger(text, triggers)
    assert matches_trigger(text.upper(), triggers) is expected
    assert matches_trigger(text.title(), [t.upper() for t in triggers]) is expected
