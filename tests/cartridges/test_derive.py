"""The voice learned from posts: each measure on small, hand-checked posts; the same posts, the same voice."""

from __future__ import annotations

import pytest

from revos.cartridges.derive import derive_voice, formality, phrases, sign_off
from revos.sim.history import STYLES

POSTS = [
    "We cut onboarding time in half. Here's how.\n\nWe removed one form.\nThen another.\n\n"
    "What would you remove first?\n\n#Onboarding #SaaS",
    "Three lessons from 40 sales calls 🎯\n\nListen first.\nAsk one question at a time.\n\n"
    "Comment CALLS and I'll send the script 👇\n\n#Sales #SaaS",
    "Pricing pages are read more than any other page. 📈 Treat yours like a product.\n\n#SaaS",
]


def test_the_measures_of_a_few_posts() -> None:
    voice = derive_voice(POSTS, engagement=[5, 50, 1])
    assert voice["example_openers"] == [
        "Three lessons from 40 sales calls 🎯",  # the most engaging post first
        "We cut onboarding time in half. Here's how.",
        "Pricing pages are read more than any other page. 📈 Treat yours like a product.",
    ]
    assert voice["example_ctas"] == [
        "Comment CALLS and I'll send the script 👇",
        "What would you remove first?",
    ]
    assert voice["hashtags"]["common"] == ["#SaaS", "#Onboarding", "#Sales"]
    assert voice["hashtags"]["placement"] == "last line"
    assert voice["hashtags"]["max"] == 2
    assert voice["emoji_policy"]["allowed"] is True
    assert voice["emoji_policy"]["common"] == ["🎯", "👇", "📈"]
    assert voice["emoji_policy"]["max_per_post"] == 2
    assert voice["formatting"]["blank_line_between_paragraphs"] is True
    assert voice["formatting"]["length_words"]["min"] <= voice["formatting"]["length_words"]["max"]
    assert voice["sentence_length"]["target_words"] == 5
    assert voice["sign_off"] is None
    assert set(voice) >= {"phrases", "formality", "paragraphs"}


def test_the_same_posts_give_the_same_voice_in_any_run() -> None:
    texts = [t.format(first="Ann") for t in STYLES["founder"]]
    assert derive_voice(texts) == derive_voice(list(texts))
    assert derive_voice(texts)["phrases"] == ["here's the thing", "the first line"]


def test_a_repeated_closing_line_is_the_sign_off_and_not_a_call_to_action() -> None:
    posts = [f"Post {n} about pricing.\n\nWhat do you think?\n\nCheers, Ann" for n in range(3)]
    assert sign_off(posts) == "Cheers, Ann"
    assert derive_voice(posts)["example_ctas"] == ["What do you think?"]
    assert sign_off([*posts[:1], "Another post.\n\nBye", "Third one.\n\nSee you"]) is None
    # Two posts of ten are not a habit.
    assert sign_off(posts[:2] + [f"Post {n}.\n\nLine {n}" for n in range(8)]) is None


def test_hashtags_in_the_text_are_inline_and_phrases_need_two_posts() -> None:
    posts = ["I love #automation in sales teams.", "Sales teams need #automation more than ever.", "Nothing."]
    voice = derive_voice(posts)
    assert voice["hashtags"]["placement"] == "inline"
    assert voice["emoji_policy"]["allowed"] is False
    assert phrases(posts) == ["sales teams"]


def test_formality_orders_a_casual_text_below_a_formal_one() -> None:
    casual = formality(["Honestly? I'm gonna say it: this stuff is awesome!! 😄 Can't wait!"])
    formal = formality(
        ["Quarterly revenue recognition requires consistent documentation of contractual obligations."]
    )
    assert casual["score"] < formal["score"]
    assert (casual["label"], formal["label"]) == ("casual", "formal")


def test_a_whole_paragraph_first_line_gives_its_first_sentence_as_the_hook() -> None:
    long_line = (
        "In 2019 I ran a small team. " + "We built things nobody wanted for a very long time indeed. " * 3
    )
    assert derive_voice([long_line])["example_openers"] == ["In 2019 I ran a small team."]


def test_nothing_to_learn_from_is_an_error() -> None:
    with pytest.raises(ValueError, match="no text"):
        derive_voice(["", "   "])
