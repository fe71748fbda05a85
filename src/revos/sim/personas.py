"""Scripted members: what they do when a post appears, a DM arrives or an invitation comes in.

Every choice comes from a per-member RNG seeded with the simulator seed, so a run is repeatable, and every
action is written to a ground-truth log (`PersonaRecord`) a test can compare the system's output with.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from revos.sim.emails import LANGUAGES, STYLES, reply_with_email, reply_without_email
from revos.sim.models import Chat, Event, Invitation, Member, Message, Persona, Post
from revos.sim.scheduler import Scheduler
from revos.sim.world import World

_TRIGGER_COMMENTS = ("{t}", "{t} please!", "Interested — {t}", "{t} 🙏 would love this", "yes {t}")
_PLAIN_COMMENTS = ("Great post, thanks for sharing!", "So true.", "Love this perspective 👏", "Agreed!")


@dataclass
class PersonaRecord:
    """Ground truth: what a persona did and, for replies, the email it meant to give."""

    kind: str  # comment | reply | accept | ignore
    member_id: str
    at: datetime
    text: str | None = None
    email: str | None = None
    email_style: str | None = None
    language: str | None = None
    contains_trigger: bool = False
    post_id: str | None = None
    comment_id: str | None = None
    chat_id: str | None = None
    message_id: str | None = None
    invitation_id: str | None = None
    account_id: str | None = None


@dataclass
class _State:
    rng: random.Random
    replies: dict[str, int] = field(default_factory=dict)  # chat id -> replies scheduled


class PersonaEngine:
    def __init__(self, world: World, scheduler: Scheduler, seed: int) -> None:
        self.world = world
        self.scheduler = scheduler
        self.seed = seed
        self.records: list[PersonaRecord] = []
        self._states: dict[str, _State] = {}

    def _state(self, member: Member) -> _State:
        state = self._states.get(member.provider_id)
        if state is None:
            state = _State(random.Random(f"persona:{self.seed}:{member.provider_id}"))
            self._states[member.provider_id] = state
        return state

    def _delay(self, member: Member, persona: Persona, base: float) -> float:
        if persona.jitter <= 0:
            return base
        return base * (1 + self._state(member).rng.uniform(-persona.jitter, persona.jitter))

    def email_of(self, member: Member) -> str:
        persona = member.persona
        if persona and persona.email:
            return persona.email
        if member.email is None:
            domain = self._state(member).rng.choice(("example.com", "acme.io", "mail.example.org"))
            member.email = f"{member.first_name}.{member.last_name}@{domain}".lower().replace(" ", "")
        return member.email

    def on_event(self, event: Event) -> None:
        if event.kind == "post":
            self._on_post(event.data["post"])
        elif event.kind == "message":
            self._on_message(event.data["message"], bool(event.data.get("invitation_note")))
        elif event.kind == "invitation":
            self._on_invitation(event.data["invitation"])

    # ---- posts -> comments ----------------------------------------------------------------
    def _on_post(self, post: Post) -> None:
        if not self.world.is_login_member(post.author):
            return  # personas engage with what the simulated accounts publish
        for member in list(self.world.index.commenters):
            persona = member.persona
            if persona is None or persona.comment == "none" or member is post.author:
                continue
            count = 2 if persona.comment == "twice" else 1
            for n in range(count):
                delay = self._delay(member, persona, persona.comment_delay) * (n + 1)
                self.scheduler.after(delay, self._comment_action(member, persona, post, n))

    def _comment_action(self, member: Member, persona: Persona, post: Post, n: int) -> Callable[[], None]:
        def act() -> None:
            rng = self._state(member).rng
            if persona.comment_text is not None:
                text = persona.comment_text
            elif persona.comment == "plain":
                text = rng.choice(_PLAIN_COMMENTS)
            else:
                text = rng.choice(_TRIGGER_COMMENTS).format(t=persona.trigger_word)
                if n == 1:
                    text = f"Commenting again: {text}"
            comment = self.world.add_comment(post, member, text)
            self.records.append(
                PersonaRecord(
                    "comment",
                    member.provider_id,
                    self.world.now(),
                    text=text,
                    contains_trigger=persona.trigger_word.lower() in text.lower(),
                    post_id=post.id,
                    comment_id=comment.id,
                    account_id=post.account_id,
                )
            )

        return act

    # ---- DMs -> replies -------------------------------------------------------------------
    def _on_message(self, msg: Message, invitation_note: bool) -> None:
        if not msg.is_sender:
            return
        for member in msg.chat.attendees:
            persona = member.persona
            if persona is None or persona.reply == "never":
                continue
            if invitation_note and not persona.reply_to_invitation_note:
                continue
            state = self._state(member)
            if state.replies.get(msg.chat.id, 0) >= persona.max_replies:
                continue
            state.replies[msg.chat.id] = state.replies.get(msg.chat.id, 0) + 1
            delay = self._delay(member, persona, persona.reply_delay)
            self.scheduler.after(delay, self._reply_action(member, persona, msg.chat))

    def _reply_action(self, member: Member, persona: Persona, chat: Chat) -> Callable[[], None]:
        def act() -> None:
            rng = self._state(member).rng
            language = rng.choice(LANGUAGES) if persona.language == "random" else persona.language
            email = style = None
            if persona.reply == "email":
                email = self.email_of(member)
                style = rng.choice(STYLES) if persona.email_style == "random" else persona.email_style
                text = reply_with_email(email, style, language, rng)
            else:
                text = reply_without_email(language, rng)
            msg = self.world.post_message(chat, member, text)
            self.records.append(
                PersonaRecord(
                    "reply",
                    member.provider_id,
                    self.world.now(),
                    text=text,
                    email=email,
                    email_style=style,
                    language=language,
                    chat_id=chat.id,
                    message_id=msg.id,
                    account_id=chat.account_id,
                )
            )

        return act

    # ---- invitations ----------------------------------------------------------------------
    def _on_invitation(self, inv: Invitation) -> None:
        persona = inv.member.persona
        if persona is None or persona.on_invite == "none":
            return
        delay = self._delay(inv.member, persona, persona.invite_delay)

        def act() -> None:
            if inv.status != "PENDING":
                return  # withdrawn meanwhile
            if persona.on_invite == "accept":
                if not self.world.accept_invitation(inv):
                    return
            else:
                inv.status, inv.decided_at = "IGNORED", self.world.now()
            self.records.append(
                PersonaRecord(
                    "accept" if persona.on_invite == "accept" else "ignore",
                    inv.member.provider_id,
                    self.world.now(),
                    invitation_id=inv.id,
                    account_id=inv.account_id,
                )
            )

        self.scheduler.after(delay, act)
