"""How fast are the two text functions on realistic input?

    .venv/bin/python bench/text_matching.py [--comments N] [--replies N]

Prints comments/second for matches_trigger (exact and fuzzy, against the same campaign triggers, so
the compiled-pattern cache is what is being measured) and replies/second for extract_email.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from revos.sim.emails import LANGUAGES, STYLES, reply_with_email, reply_without_email
from revos.text.emails import extract_email
from revos.text.triggers import matches_trigger

TRIGGERS = ["GUIDE", "free playbook", "e-book"]
_COMMENTS = [
    "Great post! GUIDE please 🙏",
    "This is so useful, thanks for sharing. Would love to read more about how you scaled outbound.",
    "#guide",
    "Guía por favor!",
    "Super intéressant, je veux bien le guide",
    "Congrats on the launch 🎉🎉🎉 — the team must be proud",
    "free\u00a0playbook",
    "Misguided take honestly, the guidelines say otherwise",
    "𝗚𝗨𝗜𝗗𝗘",
    "Danke für den Beitrag! Sehr hilfreich.",
    "Interested in the e-book",
    "guiiide",
]


def _rate(label: str, items: list[str], fn: Callable[[str], object]) -> None:
    fn(items[0])  # warm the cache / compile the patterns outside the timing
    start = time.perf_counter()
    for item in items:
        fn(item)
    elapsed = time.perf_counter() - start
    print(f"{label:<38} {len(items) / elapsed:>12,.0f} /s   ({len(items):,} in {elapsed:.3f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--replies", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)

    comments = [rng.choice(_COMMENTS) + " " * rng.randint(0, 2) for _ in range(args.comments)]
    _rate("matches_trigger (exact)", comments, lambda c: matches_trigger(c, TRIGGERS))
    _rate("matches_trigger (fuzzy)", comments, lambda c: matches_trigger(c, TRIGGERS, fuzzy=True))

    replies = []
    for i in range(args.replies):
        language = rng.choice(LANGUAGES)
        if i % 4 == 3:
            replies.append(reply_without_email(language, rng))
        else:
            email = f"person{i}.name@{rng.choice(('example.com', 'acme.io', 'mail.example.org'))}"
            replies.append(reply_with_email(email, rng.choice(STYLES), language, rng))
    _rate("extract_email (simulator replies)", replies, extract_email)


if __name__ == "__main__":
    main()
