"""The `deliverability` skill: the campaign's post and DM templates checked for what gets LinkedIn accounts
flagged or ignored, with a 0-100 score and, per finding, where it is, what is wrong and how to fix it.

The rules are deterministic and decide the score; the provider only adds a short review in prose (the
offline provider's review is a plain reading of the text against the voice)."""

from __future__ import annotations

import re
from typing import Any

from revos.ai.base import Completion, CompletionRequest
from revos.ai.voice import count_emoji
from revos.db.pool import Conn
from revos.runtime import Runtime
from revos.skills import context
from revos.skills.context import Base
from revos.skills.kinds import Kind, Prepared
from revos.skills.schemas import POST_MAX, DeliverabilityOptions
from revos.text.templates import DEFAULT_TEMPLATES, variables_in

SPAM_WORDS = (
    "100% free", "act now", "buy now", "cash", "click here", "double your", "earn money", "exclusive deal",
    "free money", "guarantee", "guaranteed", "limited time", "make money", "no obligation", "risk-free",
    "special promotion", "urgent", "winner", "$$$", "order now", "once in a lifetime", "don't miss out",
)  # fmt: skip
PERSONAL = {"first_name", "last_name"}
_URL = re.compile(r"https?://|www\.|\{\{\s*download_url\s*\}\}", re.I)
_HASHTAG = re.compile(r"(?<!\w)#\w+")
_CAPS = re.compile(r"\b[A-Z]{4,}\b")
SEVERITY = {"high": 20, "medium": 10, "low": 5}
FIRST_DM_MAX = 500
DM_MAX = 1000
POST_HASHTAGS_MAX = 5
POST_EMOJI_MAX = 5
DM_EMOJI_MAX = 2


def _finding(rule: str, where: str, what: str, fix: str, severity: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "where": where,
        "what": what,
        "fix": fix,
        "severity": severity,
        "penalty": SEVERITY[severity],
    }


def _common(where: str, text: str, trigger: str, spam_words: list[str]) -> list[dict[str, Any]]:
    out = []
    lowered = text.lower()
    spam = [
        w for w in (*SPAM_WORDS, *spam_words) if re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", lowered)
    ]
    if spam:
        out.append(
            _finding(
                "spam_words",
                where,
                f"spam-filter words: {', '.join(spam[:8])}",
                "say what the reader gets in plain words; drop the sales vocabulary",
                "medium",
            )
        )
    caps = [w for w in _CAPS.findall(text) if w.lower() != trigger.lower()]
    if len(caps) >= 2:
        out.append(
            _finding(
                "all_caps",
                where,
                f"{len(caps)} words in capitals ({', '.join(caps[:5])})",
                "write them in normal case; capitals read as shouting and as spam",
                "low",
            )
        )
    marks = text.count("!")
    if marks > 2 or "!!" in text:
        out.append(
            _finding(
                "exclamation_marks",
                where,
                f"{marks} exclamation marks",
                "keep one at most; let the offer speak",
                "low",
            )
        )
    return out


def check_post(text: str, trigger: str, spam_words: list[str]) -> list[dict[str, Any]]:
    out = _common("post", text, trigger, spam_words)
    if len(text) > POST_MAX:
        out.append(
            _finding(
                "length",
                "post",
                f"{len(text)} characters: LinkedIn refuses more than {POST_MAX}",
                f"cut it below {POST_MAX} characters",
                "high",
            )
        )
    if re.search(r"https?://|www\.", text, re.I):
        out.append(
            _finding(
                "link",
                "post",
                "a link in the post: LinkedIn shows such posts to fewer people",
                "remove the link; the lead magnet goes out by DM",
                "medium",
            )
        )
    tags = _HASHTAG.findall(text)
    if len(tags) > POST_HASHTAGS_MAX:
        out.append(
            _finding(
                "hashtags",
                "post",
                f"{len(tags)} hashtags",
                f"keep {POST_HASHTAGS_MAX - 2} to {POST_HASHTAGS_MAX} specific ones, on the last line",
                "low",
            )
        )
    if count_emoji(text) > POST_EMOJI_MAX:
        out.append(
            _finding("emojis", "post", f"{count_emoji(text)} emoji", f"keep {POST_EMOJI_MAX} at most", "low")
        )
    if trigger and trigger.lower() not in text.lower():
        out.append(
            _finding(
                "trigger_word",
                "post",
                f'the post never says the trigger word "{trigger}"',
                f'ask readers to comment "{trigger}"',
                "high",
            )
        )
    return out


def check_dm(step: int, text: str, trigger: str, spam_words: list[str]) -> list[dict[str, Any]]:
    where = f"dm_template_step{step}"
    out = _common(where, text, trigger, spam_words)
    if step == 1 and _URL.search(text):
        out.append(
            _finding(
                "link_in_first_dm",
                where,
                "a link in the first message to someone new",
                "ask for their email first; send the link in step 2 or 3",
                "high",
            )
        )
    if step == 1 and not PERSONAL & set(variables_in(text)):
        out.append(
            _finding(
                "identical_text",
                where,
                "the same first message goes to every commenter",
                "greet each person by name with {{first_name}} and refer to their comment",
                "high",
            )
        )
    limit = FIRST_DM_MAX if step == 1 else DM_MAX
    if len(text) > limit:
        out.append(
            _finding(
                "length",
                where,
                f"{len(text)} characters",
                f"keep it under {limit} characters: two to four short sentences",
                "medium" if step == 1 else "low",
            )
        )
    if _HASHTAG.search(text):
        out.append(_finding("hashtags", where, "hashtags in a direct message", "remove them", "low"))
    if count_emoji(text) > DM_EMOJI_MAX:
        out.append(
            _finding("emojis", where, f"{count_emoji(text)} emoji", f"keep {DM_EMOJI_MAX} at most", "low")
        )
    return out


def score_of(findings: list[dict[str, Any]]) -> int:
    return max(0, 100 - sum(int(f["penalty"]) for f in findings))


def texts_of(base: Base, opts: DeliverabilityOptions) -> tuple[str | None, dict[int, str]]:
    post = opts.post_text or (base.post or {}).get("content") or base.template_text() or None
    given = opts.templates or {}
    templates: dict[int, str] = {}
    for step in (1, 2, 3):
        key = f"dm_template_step{step}"
        templates[step] = given.get(key) or base.campaign.get(key) or DEFAULT_TEMPLATES[step]  # type: ignore[call-overload]
    return post, templates


async def prepare(runtime: Runtime, conn: Conn, base: Base, opts: DeliverabilityOptions) -> Prepared:
    post, templates = texts_of(base, opts)
    spam = list(opts.spam_words)
    findings = check_post(post, base.trigger_word, spam) if post else []
    for step, text in templates.items():
        findings += check_dm(step, text, base.trigger_word, spam)
    score = score_of(findings)
    checked = (["post"] if post else []) + [f"dm_template_step{s}" for s in templates]
    lines = [
        f"Review this LinkedIn campaign for deliverability. The rules already found (score {score}/100):",
        *(f"- {f['where']}: {f['what']} (fix: {f['fix']})" for f in findings),
        "Add a short review in prose: what to change first and why.",
        "The post:" if post else "There is no post yet.",
        *([post] if post else []),
        *(f"DM step {s}: {t}" for s, t in templates.items()),
    ]
    request = CompletionRequest(
        system=context.system_prompt(base, "a LinkedIn deliverability reviewer", ["Be concrete and brief."]),
        prompt="\n".join(lines),
        purpose="check",
        voice=base.voice.voice,
        context=base.facts() | {"text": post or templates[1]},
        max_tokens=400,
        temperature=0.2,
    )
    return Prepared(
        request, context={"checked": checked}, data={"findings": findings, "score": score, "checked": checked}
    )


def output(prepared: Prepared, completion: Completion, opts: DeliverabilityOptions) -> dict[str, Any]:
    data = prepared.data
    return {
        "score": data["score"],
        "findings": data["findings"],
        "checked": data["checked"],
        "summary": completion.text.strip(),
    }


KIND = Kind("deliverability", DeliverabilityOptions, prepare, output)
