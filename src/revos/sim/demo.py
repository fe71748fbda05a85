"""A small ready-made world for `revos sim serve --demo` and the product demo."""

from __future__ import annotations

from revos.sim.history import give_history
from revos.sim.models import CommentMode, Persona, ReplyMode
from revos.sim.simulator import Simulator

DEMO_USERNAME = "demo@revos.dev"
DEMO_PASSWORD = "demo"


def populate(sim: Simulator, trigger_word: str = "GUIDE") -> None:
    """One LinkedIn login and a dozen members covering every persona behaviour, each with a few past posts."""
    owner = sim.add_account(username=DEMO_USERNAME, password=DEMO_PASSWORD, name="Demo Owner")
    give_history(sim, owner.member, "founder")  # a voice to learn from (revos.cartridges)
    trig: CommentMode = "trigger"
    mail: ReplyMode = "email"
    scripts = [
        ("Ann", "Lee", Persona(comment=trig, reply=mail), True),
        ("Bruno", "Martin", Persona(comment=trig, reply=mail, email_style="paren", language="fr"), True),
        ("Carla", "Gómez", Persona(comment=trig, reply=mail, email_style="word", language="es"), False),
        (
            "Dieter",
            "Schmidt",
            Persona(comment="twice", reply=mail, email_style="bracket", language="de"),
            True,
        ),
        ("Eve", "Stone", Persona(comment="plain"), True),
        ("Farid", "Haddad", Persona(comment=trig, reply="no_email"), True),
        ("Grace", "Kim", Persona(comment=trig, reply="never"), False),
        ("Hugo", "Petit", Persona(comment=trig, reply=mail, on_invite="ignore"), False),
        ("Ines", "Rocha", Persona(comment=trig, reply=mail, email_style="mailto"), True),
        ("Jon", "Berg", Persona(comment=trig, reply=mail, email_style="random", language="random"), True),
    ]
    for first, last, persona, connected in scripts:
        persona.trigger_word = trigger_word
        persona.jitter = 0.3
        member = sim.add_member(first, last, persona=persona, connected_to=[owner] if connected else [])
        give_history(sim, member)
