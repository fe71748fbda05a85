"""What goes wrong in the fault run, and when; the record of what the faults did."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from revos.config import Settings
from revos.demo.run import demo_settings
from revos.sim import FaultRule, Simulator

SEND_ROUTES = ("POST /chats*", "POST /users/invite")
READ_ROUTES = ("GET /chats*", "GET /users/*", "GET /messages*", "GET /posts/*")


@dataclass
class FaultPlan:
    """What goes wrong, and when (in DMs LinkedIn has received), and the account's daily caps."""

    rate_limit: float = 0.03  # probability of a 429 on each send and read, once the first day is spent
    server_error: float = 0.05  # probability of a 500/503 on each send and read
    timeout_after: float = 0.12  # probability that a DM send times out after LinkedIn recorded it
    kill_after_dms: int = 8  # DMs out after the first day's budget, before the worker is killed mid-send
    disconnect_after_dms: int = 30  # DMs out after the kill, before a send disconnects the account
    disconnected_seconds: float = 1.5  # wall seconds the account stays disconnected
    hang_seconds: float = 4.0  # how long the send the worker dies in is held open
    # Below the first DMs that fall due on the first day (the demo's world of 80 commenters has 48
    # connected commenters who use the trigger word): that day's budget is spent, whatever the machine.
    cap_dm: int = 40
    cap_invitation: int = 20
    hold_limit: float = 180.0  # wall seconds the clock may be held back for the post, then for the budget


def fault_settings(base: Settings, speed: float) -> Settings:
    """The demo's settings, plus what a fault run needs in wall seconds: stalled workers found within a
    few seconds, and an in-flight action presumed crashed after longer than any call can take."""
    wall = speed
    return demo_settings(base, speed).model_copy(
        update={
            "worker_heartbeat_seconds": 0.5,
            "stalled_after_seconds": 3.0,
            "cron_recover_stalled_jobs": "* * * * * *",
            "unipile_timeout_seconds": 6.0,
            "action_inflight_timeout_seconds": 8 * wall,
            # A dead worker's claims (a poll, a delivery) are taken over after seconds, not a minute.
            "poll_lease_seconds": 10 * wall,
            "post_publish_lease_seconds": 10 * wall,
            "webhook_claim_lease_seconds": int(12 * wall),
        }
    )


def standing_faults(plan: FaultPlan) -> list[FaultRule]:
    """The run's faults from the start: 5xx everywhere, timeouts after a DM was sent."""
    rules = [FaultRule("timeout", route="POST /chats*", probability=plan.timeout_after, after=True)]
    for route in (*SEND_ROUTES, *READ_ROUTES):
        rules.append(FaultRule("error", route=route, probability=plan.server_error / 2, status=500))
        rules.append(FaultRule("error", route=route, probability=plan.server_error / 2, status=503))
    return rules


def rate_limits(plan: FaultPlan) -> list[FaultRule]:
    """429s, from the end of the first day on. A 429 pauses the account for an hour of its clock or more;
    on the first day, one could carry the account past the day's end, and the day's budget could then
    never be spent."""
    return [
        FaultRule("rate_limit", route=route, probability=plan.rate_limit)
        for route in (*SEND_ROUTES, *READ_ROUTES)
    ]


def arm_first(sim: Simulator, rule: FaultRule) -> FaultRule:
    """Add `rule` ahead of the standing ones, so it is the one that answers when several fire."""
    standing = list(sim.faults.rules)
    sim.faults.clear()
    sim.faults.add(rule)
    for other in standing:
        sim.faults.add(other)
    return rule


@dataclass
class Chaos:
    """What the injected faults did, as they happened."""

    events: list[str] = field(default_factory=list)
    killed_in_flight: list[str] = field(default_factory=list)  # ledger keys in flight when the worker died
    stalled_jobs: list[int] = field(default_factory=list)  # the dead worker's running jobs
    recovered_after: float | None = None  # wall seconds until no job was left running for the dead worker
    disconnected: bool = False
    reconnected: bool = False
    held_for: float | None = None  # wall seconds the first day's last hour lasted
    _started: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self._started:6.1f}s {what}")
