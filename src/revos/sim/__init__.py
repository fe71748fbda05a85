"""A Unipile-compatible LinkedIn simulator: the v1 HTTP contract of spec/unipile-v1.md over a modeled
world of accounts, members, posts, chats and invitations, with scripted personas, injectable faults and
webhook deliveries — so every LinkedIn path of revOS can be tested offline and repeatably."""

from revos.sim.errors import SimError
from revos.sim.faults import FaultRule
from revos.sim.models import (
    Account,
    Chat,
    Comment,
    Engagement,
    Invitation,
    Login,
    Member,
    Message,
    Persona,
    Post,
)
from revos.sim.personas import PersonaRecord
from revos.sim.serve import serve, serve_in_thread
from revos.sim.simulator import Simulator
from revos.sim.webhooks import Attempt, Delivery

__all__ = [
    "Account",
    "Attempt",
    "Chat",
    "Comment",
    "Delivery",
    "Engagement",
    "FaultRule",
    "Invitation",
    "Login",
    "Member",
    "Message",
    "Persona",
    "PersonaRecord",
    "Post",
    "SimError",
    "Simulator",
    "serve",
    "serve_in_thread",
]
