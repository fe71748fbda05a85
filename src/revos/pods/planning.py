"""Who engages with a post, how, and when: pure functions, no database (revos.pods.scheduling runs them).

For one post published at `published`:

1. **Who.** The other active members, minus those who already engaged with `author_max_engagements` of
   the author's `author_recent_posts` latest posts (nobody engages with the same author every time).
   Each remaining member joins with probability `engage_share` (a Bernoulli draw each, so the subset's
   size varies too; at least one member when anyone is eligible).
2. **How.** Every engaging member likes; each also comments with probability `comment_share`, and
   reposts with probability `repost_share` when `reposts` is on.
3. **When.** Nothing before `published + min_delay_seconds` (nor before now). A like falls inside the like
   window (`engagement_window_minutes` after publication), a comment inside the comment window, a repost
   inside the repost window (`repost_window_minutes`, by default the like window), at a
   log-normal offset from the earliest moment (median a fifth of the window, heavy right tail: most
   people react soon, some much later; never uniform, never immediate). Offsets past the window are drawn
   again. No two activities of one post share a second.
4. **Hours.** A moment outside the account's working hours (revos.accounts.safety, the account's time
   zone) or inside the pod's quiet hours moves to when they open, plus a few minutes of jitter; if that
   is past the window, the activity is `skipped` with the reason. An account whose automatic pause (a
   429's backoff) ends inside the window is planned after it. Skipped too are activities of an account
   paused by a person or disconnected, of a member at `daily_engagements_per_member`, or whose account's
   daily cap for the kind is spent. An activity is never planned late.
5. **Once per account.** An account in several pods with the author likes, comments on or reposts the post
   once: a kind another pod already planned (or did) for that account is skipped here with the reason
   (and the executor's ledger key, per account, post and kind, guards the rest).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from revos.accounts.safety import Window, zone
from revos.pods.schemas import PodSettings

LEDGER_KIND = {"like": "reaction", "comment": "comment", "repost": "repost"}
MEDIAN_FRACTION = 0.2  # the median offset, as a share of the time left in the window
SIGMA = 0.9  # log-normal spread: the coefficient of variation of offsets is about 1.1
DRAWS = 6


@dataclass(frozen=True)
class Candidate:
    member_id: UUID
    account_id: UUID
    timezone: str | None
    hours: Window
    paused_reason: str | None  # None: the account may act
    with_author: int  # of the author's recent posts, how many this member engaged with
    recent_count: int  # engagements pending or done in the last day
    caps_left: dict[str, int] = field(default_factory=dict)  # ledger kind → units left today
    resumes_at: datetime | None = None  # an automatic pause (a 429's backoff) ends then
    done_elsewhere: frozenset[str] = frozenset()  # kinds another pod of this account has on the post


@dataclass(frozen=True)
class Planned:
    member_id: UUID
    kind: str  # like | comment | repost
    scheduled_for: datetime | None  # None when skipped
    window_ends_at: datetime
    skip_reason: str | None = None


@dataclass(frozen=True)
class Windows:
    earliest: datetime
    like_ends: datetime
    comment_ends: datetime
    repost_ends: datetime

    @classmethod
    def of(
        cls,
        published: datetime,
        now: datetime,
        settings: PodSettings,
        like_minutes: int,
        comment_minutes: int,
    ) -> Windows:
        earliest = max(published + timedelta(seconds=settings.min_delay_seconds), now)
        return cls(
            earliest,
            published + timedelta(minutes=like_minutes),
            published + timedelta(minutes=comment_minutes),
            published + timedelta(minutes=settings.repost_window_minutes or like_minutes),
        )

    def ends(self, kind: str) -> datetime:
        return {"like": self.like_ends, "repost": self.repost_ends}.get(kind, self.comment_ends)


def choose(candidates: list[Candidate], settings: PodSettings, rng: random.Random) -> list[Candidate]:
    """The engaging subset: eligible members, each with probability `engage_share` (at least one)."""
    eligible = [c for c in candidates if c.with_author < settings.author_max_engagements]
    if not eligible:
        return []
    chosen = [c for c in eligible if rng.random() < settings.engage_share]
    return chosen or [rng.choice(eligible)]


def kinds_for(settings: PodSettings, rng: random.Random) -> list[str]:
    kinds = ["like"]
    if rng.random() < settings.comment_share:
        kinds.append("comment")
    if settings.reposts and rng.random() < settings.repost_share:
        kinds.append("repost")
    return kinds


def offset(span: float, rng: random.Random) -> float | None:
    """Seconds after the earliest moment, log-normal, inside `span` (None if the span is too short)."""
    if span < 2:
        return None
    mu = math.log(max(1.0, span * MEDIAN_FRACTION))
    for _ in range(DRAWS):
        value = rng.lognormvariate(mu, SIGMA)
        if 1 <= value < span:
            return value
    return rng.uniform(0.05, 0.6) * span


def fit_hours(
    moment: datetime, c: Candidate, settings: PodSettings, ends: datetime, rng: random.Random
) -> tuple[datetime | None, str | None]:
    """`moment` moved out of quiet hours and into working hours, or (None, why) past the window."""
    tz = zone(c.timezone)
    why = None
    for _ in range(4):
        local = moment.astimezone(tz)
        if not c.hours.in_window(local):
            why = f"outside the account's working hours ({c.timezone or 'UTC'})"
            opens = c.hours.next_window(local).astimezone(moment.tzinfo)
            moment = opens + timedelta(seconds=rng.uniform(60, 900))
        elif settings.quiet_hours is not None and settings.quiet_hours.contains(_hour(local)):
            why = "inside the pod's quiet hours"
            end_local = _at(local, settings.quiet_hours.end)
            moment = end_local.astimezone(moment.tzinfo) + timedelta(seconds=rng.uniform(60, 900))
        else:
            return (moment, None) if moment < ends else (None, why or "the window closed")
        if moment >= ends:
            return None, f"{why}: nothing fits before the window closes"
    return None, why


def plan(
    candidates: list[Candidate],
    windows: Windows,
    settings: PodSettings,
    rng: random.Random,
) -> list[Planned]:
    """The activities of one post (see module doc)."""
    taken: set[int] = set()
    out: list[Planned] = []
    for c in choose(candidates, settings, rng):
        planned_today = 0
        for kind in kinds_for(settings, rng):
            one = _plan_one(c, kind, planned_today, windows, settings, taken, rng)
            planned_today += one.scheduled_for is not None
            out.append(one)
    return out


def _plan_one(
    c: Candidate,
    kind: str,
    planned_today: int,
    windows: Windows,
    settings: PodSettings,
    taken: set[int],
    rng: random.Random,
) -> Planned:
    ends = windows.ends(kind)
    reason = None
    if kind in c.done_elsewhere:
        reason = f"this account's {kind} of the post comes from another pod it shares with the author"
    elif c.paused_reason is not None:
        reason = f"account cannot act: {c.paused_reason}"
    elif c.recent_count + planned_today >= settings.daily_engagements_per_member:
        reason = f"member reached {settings.daily_engagements_per_member} pod engagements today"
    elif c.caps_left.get(LEDGER_KIND[kind], 1) <= 0:
        reason = f"the account's daily {LEDGER_KIND[kind]} cap is spent"
    if reason is not None:
        return Planned(c.member_id, kind, None, ends, reason)
    earliest = windows.earliest
    if c.resumes_at is not None and c.resumes_at > earliest:
        earliest = c.resumes_at
        if earliest >= ends:
            return Planned(
                c.member_id, kind, None, ends, "the account's pause (rate limit) outlasts the window"
            )
    seconds = offset((ends - earliest).total_seconds(), rng)
    if seconds is None:
        return Planned(c.member_id, kind, None, ends, "the window closed before the post reached the pod")
    moment, why = fit_hours(earliest + timedelta(seconds=seconds), c, settings, ends, rng)
    if moment is None:
        return Planned(c.member_id, kind, None, ends, why or "nothing fits in the window")
    moment = _free_second(moment, taken, rng)
    if moment >= ends:
        return Planned(c.member_id, kind, None, ends, "no free second left in the window")
    return Planned(c.member_id, kind, moment, ends)


def _free_second(moment: datetime, taken: set[int], rng: random.Random) -> datetime:
    while int(moment.timestamp()) in taken:
        moment += timedelta(seconds=rng.randint(1, 9))
    taken.add(int(moment.timestamp()))
    return moment


def _hour(local: datetime) -> float:
    return local.hour + local.minute / 60 + local.second / 3600


def _at(local: datetime, hour: float) -> datetime:
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    target = (day.replace(tzinfo=None) + timedelta(hours=hour)).replace(tzinfo=local.tzinfo)
    return target if target > local else target + timedelta(days=1)


def caps_left(usage: dict[str, Any], caps: dict[str, int]) -> dict[str, int]:
    return {kind: cap - int(usage.get(kind) or 0) for kind, cap in caps.items()}
