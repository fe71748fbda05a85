"""Members' past posts: a few realistic posts in one of several writing styles, so a voice can be learned
from them (`GET /users/{id}/posts`). They are backdated and announced to nobody: no webhook, no persona
reacts to them.

Opt-in (`give_history`), so tests that count an account's posts start from none."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from revos.sim.models import Member, Post

if TYPE_CHECKING:
    from revos.sim.simulator import Simulator

# Each style: posts newest first. "{first}" is the author's first name.
STYLES: dict[str, tuple[str, ...]] = {
    "founder": (
        "We doubled our demo bookings in 6 weeks. We did not touch the ads. 🚀\n\n"
        "We rewrote the first line of every post.\n\n"
        "Here's the thing: people decide in one line whether to read the next one.\n"
        "So we tested 3 openers per post and kept the winner.\n\n"
        'Want the list of openers we tested? Comment "HOOKS" and I\'ll send it 👇\n\n'
        "#B2BMarketing #LinkedInGrowth",
        "Most lead magnets fail for one simple reason: nobody asked for them. 💡\n\n"
        "Before you write a guide, read your last 50 comments.\n"
        "Here's the thing: the questions people ask are the guide.\n\n"
        "What's the one question your clients ask every week?\n\n"
        "#B2BMarketing #ContentStrategy",
        "I sent 300 DMs last quarter. 41 people replied. Here's what the 41 had in common. ✅\n\n"
        "They had commented first.\n"
        "A DM after a comment is a conversation, not a cold pitch.\n\n"
        'Comment "DM" and I\'ll share the exact messages we use 👇\n\n'
        "#LinkedInGrowth #Sales",
        "Hiring our first marketer taught me one thing: process before people.\n\n"
        "We wrote down every step of our content week first.\n"
        "Then we hired someone to own it.\n\n"
        "What would you write down first?\n\n"
        "#B2BMarketing #Startups",
        "Three things I check before any post goes out:\n\n"
        "1. Does the first line make a specific claim?\n"
        "2. Is there one idea, not three?\n"
        "3. Does it end with one clear ask?\n\n"
        "Save this for your next post ✅\n\n"
        "#LinkedInGrowth #ContentStrategy",
    ),
    "analyst": (
        "Our onboarding completion rate rose from 38% to 61% after one change to the welcome email.\n\n"
        "We removed the second request. The email now asks for a single action: connect the data source.\n\n"
        "Every additional request in a first email halves the response to the first one, in our data.\n\n"
        "Which single action does your welcome email ask for?",
        "A client asked why their webinar had 900 registrations and 11 qualified leads.\n\n"
        "The registration form asked for an email address only. Qualification happened nowhere.\n\n"
        "Two questions on the form (company size, current tool) changed the follow-up entirely.\n\n"
        "Read the full breakdown in the comments.",
        "Pipeline reviews are more useful when they start with lost deals, not open ones.\n\n"
        "In our data, lost deals show where the process breaks. Open deals show where hope lives.\n\n"
        "We now review three lost deals every Monday before anything else.\n\n"
        "How does your team start its pipeline review?",
        "Benchmarks are useful only when the definitions match.\n\n"
        'In our data, a "lead" in one company is a form fill. In another, it is a booked meeting.\n\n'
        "Compare conversion rates only after you compare definitions.\n\n"
        "Download the definitions template we use with clients.",
    ),
    "casual": (
        "Confession: I ignored my own advice for a year 🙈\n\n"
        "I told everyone to post consistently.\n"
        "I posted twice. In a year.\n\n"
        "What actually helped? A tiny habit. 15 minutes every Tuesday.\n\n"
        "What's your posting habit? Tell me below 👇\n\n"
        "Talk soon, {first}",
        "My first client paid me in pizza 🍕\n\n"
        "Honestly? Best deal I ever made.\n"
        "He sent me three referrals.\n\n"
        "Turns out the small jobs aren't small.\n\n"
        "Drop your weirdest first payment in the comments 😄\n\n"
        "Talk soon, {first}",
        "I almost didn't post this.\n\n"
        "Last week a call went really badly.\n"
        "I talked too much. I didn't listen.\n\n"
        "Here's the thing: the client told me exactly what they needed. In minute two.\n\n"
        "Ever had a call like that? 🙌\n\n"
        "Talk soon, {first}",
        "Tiny win today ✅\n\n"
        "A reader replied to my newsletter with a question.\n"
        "That question is now next week's post.\n\n"
        "Your audience writes your content. You just have to listen.\n\n"
        "Talk soon, {first}",
    ),
    "storyteller": (
        "In 2019 I ran a team of four people and a product nobody wanted. We had a beautiful website, a "
        "launch plan and no customers. It took us eight months to admit that the problem was not the "
        "marketing.\n\n"
        "What changed everything was a single conversation with a customer who had cancelled. She told us, "
        "kindly and precisely, what we had built and what she had needed instead.\n\n"
        "We rebuilt the product around her sentence.\n\nThat's it for this week.",
        "The best manager I ever had never gave me an answer. She asked me what I would do, and then she "
        "asked why, and then she asked what could go wrong.\n\n"
        "It was frustrating for a month and invaluable for a decade. I still ask myself her three "
        "questions before every decision that matters.\n\n"
        "What is the question you ask yourself most often?\n\nThat's it for this week.",
        "Our biggest deal last year started with a comment on a post about spreadsheets. Not a pitch, not "
        "an ad, not a referral: a comment from someone who disagreed with me.\n\n"
        "We argued politely for a week in the comments. Then we met. Then we worked together.\n\n"
        "Disagreement in public is underrated.\n\nThat's it for this week.",
    ),
}
STYLE_NAMES = tuple(STYLES)
DAYS_BETWEEN = 3


def style_for(member: Member) -> str:
    """A stable style for a member (from its provider id): the same member writes the same way."""
    digest = hashlib.sha256(member.provider_id.encode()).digest()
    return STYLE_NAMES[digest[0] % len(STYLE_NAMES)]


def give_history(
    sim: Simulator, member: Member, style: str | None = None, count: int | None = None
) -> list[Post]:
    """Backdate `count` posts (default: all of the style) by `member`, one every few days, newest first
    in the feed like any other posts."""
    texts: Sequence[str] = STYLES[style or style_for(member)]
    texts = texts[: count if count is not None else len(texts)]
    world = sim.world
    now = world.now()
    posts = []
    # Oldest first, so the sequence numbers (the feed's order) follow time.
    for age, text in reversed(list(enumerate(texts))):
        posts.append(
            world.add_past_post(
                member, text.format(first=member.first_name), now - timedelta(days=DAYS_BETWEEN * (age + 1))
            )
        )
    return posts
