"""The fault run's audit: what every member received (the simulator's records) against what revOS recorded."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from revos.actions import ledger
from revos.demo import funnel as funnel_db
from revos.demo import world as demo_world
from revos.runtime import Runtime
from tests.e2e.faults.plan import Chaos, FaultPlan


def _notes(world: demo_world.DemoWorld) -> dict[str, set[str]]:
    notes: dict[str, set[str]] = {}
    for inv in world.sim.invitations():
        if inv.message:
            notes.setdefault(inv.member.provider_id, set()).add(inv.message)
    return notes


@dataclass(frozen=True)
class SentDM:
    member: str  # provider id
    message_id: str
    text: str
    at: datetime


def dms_sent(world: demo_world.DemoWorld) -> list[SentDM]:
    """Every DM the account sent, as LinkedIn recorded it; invitation notes left out (LinkedIn shows an
    accepted invitation's note as the chat's first message, but it was sent as an invitation)."""
    notes = _notes(world)
    return [
        SentDM(member.provider_id, msg.id, msg.text or "", msg.created_at)
        for msg in world.sim.sent_messages()
        for member in msg.recipients
        if msg.text not in notes.get(member.provider_id, set())
    ]


@dataclass
class FaultReport:
    """Each list names what went wrong (empty: nothing did); `figures` are the run's counts."""

    duplicate_dms: list[str] = field(default_factory=list)  # a member got the same text twice
    duplicate_invitations: list[str] = field(default_factory=list)
    repeated_steps: list[str] = field(default_factory=list)  # a sequence step's text arrived twice
    unconfirmed_sends: list[str] = field(default_factory=list)  # on LinkedIn, not confirmed in the ledger
    phantom_sends: list[str] = field(default_factory=list)  # confirmed, but LinkedIn has no such thing
    unrecorded_messages: list[str] = field(default_factory=list)  # missing from the lead's conversation
    cap_violations: list[str] = field(default_factory=list)
    # the timeline says the first DM waited for the day's DM cap, yet it did not go out on a later day
    held_not_sent_later: list[str] = field(default_factory=list)
    not_terminal: list[str] = field(default_factory=list)
    lost_leads: list[str] = field(default_factory=list)  # email captured, never verified at the ESP
    unsettled_after_crash: list[str] = field(default_factory=list)  # in flight at the kill, not done now
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def problems(self) -> dict[str, list[str]]:
        return {name: value for name, value in vars(self).items() if isinstance(value, list) and value}


STEPS_SQL = """
select s.id, l.linkedin_id, s.step1_message, s.step2_message, s.step3_message
from dm_sequences s join leads l on l.id = s.lead_id where s.campaign_id = %s
"""
CONVERSATIONS_SQL = """
select m.unipile_message_id from dm_messages m join dm_sequences s on s.id = m.dm_sequence_id
where s.campaign_id = %s and m.direction = 'outbound'
"""
ACTIONS_SQL = """
select action_key, kind, status, target, payload, provider_id, reserved_day, last_error from linkedin_actions
where linkedin_account_id = %s and kind in ('dm', 'invitation')
"""
_TEXT = {"dm": "text", "invitation": "message"}  # where an action's payload keeps what was sent
USAGE_SQL = (
    "select day, kind, used from account_daily_usage where linkedin_account_id = %s order by day, kind"
)
EMAIL_LEADS_SQL = "select id from leads where campaign_id = %s and email is not null"
# Leads whose timeline says their first DM waited for the account's daily DM cap: until when (the next
# day's budget, as the wait says) and when their first DM went out (account-local days).
HELD_BY_CAP_SQL = """
select l.linkedin_id, w.reason, w.until, (w.until at time zone a.timezone)::date as until_day,
  d.at as sent_at, (d.at at time zone a.timezone)::date as sent_day
from leads l
join dm_sequences s on s.lead_id = l.id
join linkedin_accounts a on a.id = s.linkedin_account_id
left join lateral (
  select min(occurred_at) as at from lead_events where lead_id = l.id and kind = 'dm_sent'
) d on true
join lateral (
  select reason, (data ->> 'until')::timestamptz as until from lead_events
  where lead_id = l.id and kind = 'waiting' and reason like 'waiting: daily dm cap reached%%'
    and (d.at is null or occurred_at < d.at)
  order by occurred_at limit 1
) w on true
where l.campaign_id = %s
order by w.until, l.linkedin_id
"""


async def audit(
    runtime: Runtime,
    world: demo_world.DemoWorld,
    ids: dict[str, UUID],
    verified_leads: set[str],
    plan: FaultPlan,
    chaos: Chaos,
) -> FaultReport:
    """What every member received (the simulator's records) against what revOS recorded."""
    report = FaultReport()
    sim = world.sim
    sent = dms_sent(world)
    invitations = sim.invitations()
    async with runtime.db.service(actor="demo") as conn:

        async def rows(query: str, key: str) -> list[dict[str, Any]]:
            return await (await conn.execute(query, (ids[key],))).fetchall()

        steps = await rows(STEPS_SQL, "campaign")
        conversations = {r["unipile_message_id"] for r in await rows(CONVERSATIONS_SQL, "campaign")}
        actions = await rows(ACTIONS_SQL, "account")
        confirmed = [a for a in actions if a["status"] == "done"]
        usage = await rows(USAGE_SQL, "account")
        emails = {str(r["id"]) for r in await rows(EMAIL_LEADS_SQL, "campaign")}
        held = await rows(HELD_BY_CAP_SQL, "campaign")
        for key in chaos.killed_in_flight:
            action = await ledger.get_by_key(conn, key)
            if action is None or action.status != "done":
                report.unsettled_after_crash.append(f"{key}: {action.status if action else 'missing'}")
        progress = await funnel_db.progress(conn, campaign_id=ids["campaign"])
        if progress.terminal < progress.leads:
            report.not_terminal = await funnel_db.stuck(conn, campaign_id=ids["campaign"])

    texts = Counter((dm.member, dm.text) for dm in sent)
    report.duplicate_dms = [f"{m}: {t!r} x{n}" for (m, t), n in texts.items() if n > 1]
    invited = Counter(inv.member.provider_id for inv in invitations)
    report.duplicate_invitations = [f"{m} x{n}" for m, n in invited.items() if n > 1]
    for row in steps:
        for step in (1, 2, 3):
            text = row[f"step{step}_message"]
            if text and texts[(row["linkedin_id"], text)] != 1:
                got = texts[(row["linkedin_id"], text)]
                report.repeated_steps.append(f"sequence {row['id']} step {step}: received {got} times")

    # Every DM and invitation on LinkedIn is one the ledger confirmed with its id, and the other way round.
    # An invitation accepted before its timeout was reconciled is confirmed by the connection it made
    # (`connected:<member>`: LinkedIn keeps no id of an accepted invitation): it stands for that invitation.
    accepted = {
        f"connected:{inv.member.provider_id}": inv.id for inv in invitations if inv.status == "ACCEPTED"
    }
    reserved = {
        (r["kind"], accepted.get(r["provider_id"], r["provider_id"])): r["reserved_day"] for r in confirmed
    }
    on_linkedin = {("dm", dm.message_id) for dm in sent} | {("invitation", inv.id) for inv in invitations}
    by_id = {("dm", dm.message_id): (dm.member, dm.text) for dm in sent} | {
        ("invitation", inv.id): (inv.member.provider_id, inv.message or "") for inv in invitations
    }
    for kind, pid in sorted(on_linkedin - set(reserved)):
        member, text = by_id[(kind, pid)]
        ledger_rows = [
            f"{a['action_key']} {a['status']} ({a['last_error']})"
            for a in actions
            if a["kind"] == kind and a["target"] == member and (a["payload"] or {}).get(_TEXT[kind]) == text
        ]
        report.unconfirmed_sends.append(f"{kind} {pid} to {member} {text[:40]!r}: ledger {ledger_rows}")
    report.phantom_sends = sorted(f"{kind} {pid}" for kind, pid in set(reserved) - on_linkedin)
    for msg in sim.sent_messages():
        if msg.id not in conversations:
            member = ", ".join(m.provider_id for m in msg.recipients)
            ledger_rows = [
                f"{a['action_key']} {a['status']} {a['provider_id']}"
                for a in actions
                if a["target"] in member
                and a["kind"] == "dm"
                and (a["payload"] or {}).get("text") == msg.text
            ]
            report.unrecorded_messages.append(
                f"{msg.id} to {member} at {msg.created_at:%d %H:%M:%S} {(msg.text or '')[:40]!r}: ledger {ledger_rows}"
            )

    # Daily caps: the budget revOS counted, and what LinkedIn received, each message on the day whose
    # budget it used (a send reserved just before midnight may reach LinkedIn just after it).
    caps = {"dm": plan.cap_dm, "invitation": plan.cap_invitation}
    for row in usage:
        cap = caps.get(row["kind"])
        if cap is not None and row["used"] > cap:
            report.cap_violations.append(f"{row['day']} {row['kind']}: used {row['used']} > cap {cap}")
    received: Counter[tuple[str, date | None]] = Counter()
    for kind, pid in on_linkedin:
        received[(kind, reserved.get((kind, pid)))] += 1
    for (kind, day), n in sorted(received.items(), key=str):
        if day is not None and n > caps[kind]:
            report.cap_violations.append(
                f"LinkedIn received {n} {kind}s on the budget of {day} > cap {caps[kind]}"
            )
    report.lost_leads = sorted(emails - verified_leads)
    report.held_not_sent_later = [
        f"{r['linkedin_id']}: {r['reason']!r} until {r['until']}, first DM at {r['sent_at']}"
        for r in held
        if r["until"] is None or r["sent_at"] is None or r["sent_at"] < r["until"]
    ]
    by_calendar = Counter(("dm", dm.at.date()) for dm in sent) + Counter(
        ("invitation", inv.created_at.date()) for inv in invitations
    )
    report.figures = {
        "dms_sent": len(sent),
        "invitations_sent": len(invitations),
        "leads": progress.leads,
        "terminal": progress.terminal,
        "emails": len(emails),
        "verified_at_esp": len(verified_leads),
        "budget_used": {f"{r['day']} {r['kind']}": r["used"] for r in usage if r["kind"] in caps},
        # "day whose budget they waited for: day their first DM went out" -> leads
        "held_by_dm_cap": dict(Counter(f"{r['until_day']}: {r['sent_day']}" for r in held)),
        "linkedin_by_budget_day": {f"{d} {k}": n for (k, d), n in sorted(received.items(), key=str)},
        "linkedin_by_calendar_day": {f"{d} {k}": n for (k, d), n in sorted(by_calendar.items(), key=str)},
    }
    return report
