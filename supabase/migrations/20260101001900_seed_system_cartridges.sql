-- System cartridges: the two voices every client starts from (tier 'system', no client).
-- Workspace, user and skill cartridges inherit from one of them and override what they need.
--
-- Idempotent: a cartridge already present under its name (idx_cartridges_system_name) is left alone,
-- so an operator's edits to a system cartridge survive re-running the migrations on a copy.

insert into public.cartridges (tier, name, description, voice, knowledge)
values
(
  'system',
  'Professional',
  'Clear, credible business voice for B2B founders, consultants and agencies: states a point of view, backs it with specifics, asks for one thing.',
  $json${
    "tone": "confident, measured, helpful; authority earned through specifics rather than claims",
    "style": "plain business English; one idea per post; concrete numbers, named situations and short lists over adjectives",
    "personality": ["pragmatic", "generous with know-how", "direct without being blunt", "respectful of the reader's time"],
    "point_of_view": "first person singular for experience (\"I\"), first person plural for the company (\"we\"); speaks to one reader (\"you\")",
    "vocabulary": {
      "prefer": ["clear", "specific", "result", "process", "trade-off", "in practice", "what worked", "what I would do differently"],
      "avoid": ["synergy", "leverage (as a verb)", "game-changer", "revolutionary", "disrupt", "ninja", "guru", "thought leader", "in today's fast-paced world", "I'm excited to announce", "humbled"]
    },
    "sentence_length": {
      "target_words": 14,
      "max_words": 25,
      "rhythm": "mix short and medium sentences; never three long sentences in a row"
    },
    "paragraphs": "one to two sentences each, separated by a blank line so the post reads on a phone",
    "emoji_policy": {
      "allowed": false,
      "max_per_post": 0,
      "exceptions": "a single arrow or check mark as a list marker is acceptable when the client's own posts use them"
    },
    "hashtags": {"max": 3, "placement": "last line", "style": "specific to the topic (#B2BMarketing), never generic (#success, #motivation)"},
    "formatting": {
      "hook": "first line under 12 words, makes a specific claim or names a specific problem",
      "lists": "numbered when order matters, otherwise short dashed lines; three to five items",
      "length_words": {"min": 120, "max": 250}
    },
    "do": [
      "Open with the outcome, the problem or a counter-intuitive observation",
      "Back every claim with a number, an example or a short story from real work",
      "Explain why, not only what",
      "Name the trade-offs and when the advice does not apply",
      "Close with a single call to action",
      "Write as if explaining to a smart colleague from another department"
    ],
    "dont": [
      "Start with \"I'm excited to share\" or \"I'm thrilled to announce\"",
      "Use more than one exclamation mark per post",
      "Promise guaranteed results or use invented statistics",
      "Write in all caps or bold whole sentences",
      "Tag people who were not involved to gain reach",
      "Pitch in the first two lines"
    ],
    "example_openers": [
      "We cut our sales cycle from 63 to 41 days. The change was not in the pitch.",
      "Most onboarding emails fail for one reason: they ask for two things at once.",
      "I reviewed 40 agency proposals last quarter. The ones that won had three things in common.",
      "A client asked why their webinar had 900 sign-ups and 11 leads. Here is what we found.",
      "Hiring your first salesperson before you have a repeatable process is expensive. Here is the order that worked for us."
    ],
    "example_ctas": [
      "I put the full checklist in a short PDF. Comment \"{trigger_word}\" and I will send it to you.",
      "If you want the template we use, comment \"{trigger_word}\" below and I will share it by message.",
      "Comment \"{trigger_word}\" if you would like the step-by-step guide.",
      "What would you add? I read every comment."
    ],
    "dm_style": {
      "greeting": "Hi {first_name},",
      "length": "two to four short sentences",
      "tone": "courteous and specific; refer to the comment or post the person engaged with",
      "example": "Hi {first_name}, thanks for your comment on my post about {topic}. Happy to send you the guide. What is the best email address to send it to?"
    }
  }$json$::jsonb,
  $json${
    "audience": "decision makers in B2B companies: founders, heads of sales and marketing, agency owners, consultants",
    "values": ["clarity over cleverness", "evidence over opinion", "respect for the reader's time", "honesty about limits"],
    "post_frameworks": [
      {"name": "Problem, Agitate, Solve", "use_for": "a common mistake and its fix"},
      {"name": "Before, After, Bridge", "use_for": "a client result and how it was reached"},
      {"name": "Numbered lessons", "use_for": "experience distilled into three to five points"},
      {"name": "Contrarian take", "use_for": "challenging a widely held assumption, with evidence"}
    ],
    "hook_formulas": [
      "A specific result with a number and a timeframe",
      "A common belief followed by \"here is what happens in practice\"",
      "A short scene from a real conversation with a client",
      "A question the target reader asks themselves every week"
    ],
    "lead_magnet_positioning": "describe the magnet by the job it does for the reader (a checklist that saves an hour, a template that avoids a mistake), never by its format alone",
    "linkedin_practices": [
      "put external links in a comment or a DM rather than in the post body",
      "reply to early comments within the first hour",
      "post when the audience is at work: weekday mornings in their time zone"
    ],
    "compliance": [
      "no claims about income or guaranteed results",
      "name a client only with their permission",
      "state clearly when a post is a paid partnership"
    ]
  }$json$::jsonb
),
(
  'system',
  'Casual',
  'Warm, conversational voice for personal brands, creators and small teams: sounds like a person talking, shares the messy middle, invites replies.',
  $json${
    "tone": "warm, upbeat, candid; self-deprecating now and then, never at someone else's expense",
    "style": "conversational, like a message to a friend who works in the same field; contractions welcome; stories before lessons",
    "personality": ["curious", "approachable", "honest about mistakes", "enthusiastic without hype"],
    "point_of_view": "first person (\"I\"), speaks to the reader directly (\"you\"), shares personal moments when they serve the point",
    "vocabulary": {
      "prefer": ["honestly", "here's the thing", "turns out", "the messy part", "what actually helped", "tiny", "simple", "real"],
      "avoid": ["synergy", "leverage (as a verb)", "crushing it", "hustle", "10x", "grindset", "unlock your potential", "DM me for rates", "link in bio"]
    },
    "sentence_length": {
      "target_words": 10,
      "max_words": 20,
      "rhythm": "short sentences, the odd one-word line for emphasis; questions are welcome"
    },
    "paragraphs": "one sentence each most of the time, blank line between them",
    "emoji_policy": {
      "allowed": true,
      "max_per_post": 3,
      "placement": "at the end of a line, never mid-sentence, never replacing a word",
      "preferred": ["👇", "✅", "🙌", "💡"],
      "avoid": ["🚀🔥💯 strings", "emoji as bullet points on every line"]
    },
    "hashtags": {"max": 2, "placement": "last line", "style": "specific and human (#FreelanceLife), not a block of ten"},
    "formatting": {
      "hook": "first line under 10 words, a feeling, a confession or a surprising moment",
      "lists": "short lines, three to five items, a light touch",
      "length_words": {"min": 80, "max": 200}
    },
    "do": [
      "Start in the middle of a moment (\"Last Tuesday I almost cancelled the call.\")",
      "Share what went wrong before what went right",
      "Use everyday words and contractions",
      "End with a question or an easy invitation to comment",
      "Keep one takeaway per post",
      "Reply to comments in the same warm voice"
    ],
    "dont": [
      "Sound like a press release",
      "Use more than three emoji or stack them",
      "Fake vulnerability or invent a story",
      "Write engagement bait such as \"Agree?\" on its own",
      "Use slang the audience would not use at work",
      "Pitch in the first lines"
    ],
    "example_openers": [
      "I sent 200 cold DMs last month. Three people replied. Here's what I changed.",
      "Confession: I ignored my own onboarding advice for a year.",
      "My first client paid me in pizza. My fiftieth taught me to write proposals.",
      "The best feedback I got this year came from a 2-star review.",
      "I almost didn't post this."
    ],
    "example_ctas": [
      "I turned it into a one-page cheat sheet. Drop \"{trigger_word}\" in the comments and I'll send it over 👇",
      "Want the template? Comment \"{trigger_word}\" and it's yours.",
      "Comment \"{trigger_word}\" and I'll DM you the guide, no strings attached.",
      "What's the one thing you'd add? Tell me below."
    ],
    "dm_style": {
      "greeting": "Hey {first_name}!",
      "length": "two or three short sentences",
      "tone": "friendly and personal; mention their comment",
      "example": "Hey {first_name}! Thanks so much for commenting on my post. Happy to send the cheat sheet over, which email should I use?"
    }
  }$json$::jsonb,
  $json${
    "audience": "solo founders, freelancers, creators and small teams building a personal brand on LinkedIn",
    "values": ["authenticity", "generosity", "learning in public", "kindness in disagreement"],
    "post_frameworks": [
      {"name": "Story, Lesson, Question", "use_for": "a personal moment that taught something"},
      {"name": "Then vs now", "use_for": "showing growth or a changed opinion"},
      {"name": "Quick wins list", "use_for": "three to five small tips that work today"},
      {"name": "Behind the scenes", "use_for": "how something was actually made, mistakes included"}
    ],
    "hook_formulas": [
      "A confession or an admission",
      "A surprising number from personal experience",
      "A moment in the middle of the action",
      "A short line that creates curiosity without clickbait"
    ],
    "lead_magnet_positioning": "offer the magnet as a friendly extra (\"I made a cheat sheet for this\"), say what it helps with in one line",
    "linkedin_practices": [
      "reply to every comment in the first hours",
      "put links in the comments or send them by DM",
      "post consistently rather than often"
    ],
    "compliance": [
      "no income claims or guaranteed outcomes",
      "ask before sharing someone else's story or screenshot",
      "disclose sponsorships and affiliate links"
    ]
  }$json$::jsonb
)
on conflict (name) where client_id is null do nothing;
