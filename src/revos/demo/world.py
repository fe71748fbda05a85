"""The simulated LinkedIn of the demo: one login behind a 2FA checkpoint and N members with mixed personas,
and the ground truth the funnel is compared with (read from what the simulator recorded)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from revos.sim import Login, Member, Persona, Simulator
from revos.sim.models import CommentMode, InviteMode, ReplyMode

USERNAME = "owner@demo.revos.dev"
PASSWORD = "demo-password"
TWO_FACTOR_CODE = "424242"
TRIGGER = "GUIDE"
FUNNEL_KEYS = ("comments", "leads", "dms", "replies", "emails", "webhooks", "clicks")

_FIRST = (
    "Ada", "Bruno", "Carla", "Dieter", "Eve", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kemal", "Lea",
    "Marta", "Nils", "Olga", "Pavel", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Xavier",
    "Yara", "Zoe",
)  # fmt: skip
_LAST = ("Lee", "Martin", "Gómez", "Schmidt", "Stone", "Haddad", "Kim", "Petit", "Rocha", "Berg", "Novak")


@dataclass(frozen=True)
class Script:
    """One kind of member: how they comment, whether they are connected, how they answer."""

    comment: CommentMode
    connected: bool
    reply: ReplyMode = "never"
    on_invite: InviteMode = "accept"
    email_style: str = "plain"
    language: str = "en"


# The mix, cycled through (in a seeded order) to build the members.
SCRIPTS: tuple[Script, ...] = (
    Script("trigger", True, "email"),
    Script("trigger", True, "email", email_style="paren", language="fr"),
    Script("trigger", False, "email", email_style="word", language="es"),
    Script("twice", True, "email", email_style="bracket", language="de"),
    Script("plain", True),
    Script("trigger", True, "no_email"),
    Script("trigger", False, "never"),
    Script("trigger", False, "email", on_invite="ignore"),
    Script("trigger", True, "email", email_style="mailto"),
    Script("trigger", True, "email", email_style="random", language="random"),
    Script("twice", False, "email", email_style="spaced"),
    Script("trigger", True, "never"),
)


@dataclass
class DemoWorld:
    sim: Simulator
    login: Login
    members: list[Member]
    scripts: dict[str, Script]  # provider id -> script
    clickers: set[str] = field(default_factory=set)  # provider ids that click the step-3 link


def build_world(
    sim: Simulator, commenters: int, seed: int, *, spread_seconds: float = 6 * 3600.0
) -> DemoWorld:
    """Populate `sim`: the owner's login (2FA) and `commenters` members commenting over `spread_seconds`."""
    rng = random.Random(f"revos-demo:{seed}")
    login = sim.add_account(
        username=USERNAME, password=PASSWORD, checkpoint="2FA", code=TWO_FACTOR_CODE, name="Demo Owner"
    )
    order = list(SCRIPTS)
    rng.shuffle(order)
    members: list[Member] = []
    scripts: dict[str, Script] = {}
    clickers: set[str] = set()
    for i in range(commenters):
        script = order[i % len(order)]
        persona = Persona(
            comment=script.comment,
            trigger_word=TRIGGER,
            comment_delay=rng.uniform(300.0, spread_seconds),
            reply=script.reply,
            email_style=script.email_style,
            language=script.language,
            reply_delay=rng.uniform(600.0, 3 * 3600.0),
            on_invite=script.on_invite,
            invite_delay=rng.uniform(1800.0, 4 * 3600.0),
            jitter=0.1,
        )
        first = _FIRST[i % len(_FIRST)]
        last = f"{_LAST[(i // len(_FIRST)) % len(_LAST)]}{'' if i < len(_FIRST) * len(_LAST) else i}"
        member = sim.add_member(
            first, last, persona=persona, connected_to=[login] if script.connected else []
        )
        members.append(member)
        scripts[member.provider_id] = script
        if script.reply == "email" and rng.random() < 0.6:
            clickers.add(member.provider_id)
    return DemoWorld(sim, login, members, scripts, clickers)


def expected_comments(world: DemoWorld) -> int:
    """Comments the members will write in total (a 'twice' member writes two)."""
    per = {"none": 0, "trigger": 1, "plain": 1, "twice": 2}
    return sum(per[s.comment] for s in world.scripts.values())


def expected_leads(world: DemoWorld) -> int:
    return sum(1 for s in world.scripts.values() if s.comment in ("trigger", "twice"))


def ground_truth(world: DemoWorld, *, webhooks: int, clicks: int) -> dict[str, int]:
    """The funnel as the simulated LinkedIn saw it; `webhooks` and `clicks` come from the demo's receiver
    (distinct leads with a verified signature) and from the members who clicked their link."""
    sim = world.sim
    comments = sim.ground_truth(kind="comment")
    triggered = {r.member_id for r in comments if r.contains_trigger}
    notes: dict[str, set[str]] = {}
    for inv in sim.invitations():
        if inv.message:
            notes.setdefault(inv.member.provider_id, set()).add(inv.message)
    dms: set[str] = set()
    for msg in sim.sent_messages():
        for member in msg.recipients:
            if msg.text not in notes.get(member.provider_id, set()):
                dms.add(member.provider_id)
    replies = sim.ground_truth(kind="reply")
    return {
        "comments": len(comments),
        "leads": len(triggered),
        "dms": len(dms & triggered),
        "replies": len({r.member_id for r in replies}),
        "emails": len({r.member_id for r in replies if r.email}),
        "webhooks": webhooks,
        "clicks": clicks,
    }


def repeats(world: DemoWorld) -> dict[str, int]:
    """What nobody may receive twice, counted from the simulator's records: members who got the same DM
    text more than once, and members invited more than once."""
    sim = world.sim
    texts = Counter(
        (member.provider_id, msg.text) for msg in sim.sent_messages() for member in msg.recipients
    )
    invited = Counter(inv.member.provider_id for inv in sim.invitations())
    return {
        "duplicate_dms": sum(1 for n in texts.values() if n > 1),
        "duplicate_invitations": sum(1 for n in invited.values() if n > 1),
    }
