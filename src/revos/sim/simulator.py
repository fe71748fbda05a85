"""`Simulator`: the world, its personas, faults and webhooks behind one object tests and the CLI drive."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

from revos.clock import Clock, get_clock
from revos.sim import serialize
from revos.sim.auth import CHECKPOINTS, Auth
from revos.sim.faults import FaultSet
from revos.sim.ids import IdFactory, iso
from revos.sim.models import (
    Account,
    Comment,
    Engagement,
    EngagementKind,
    Event,
    Invitation,
    Login,
    Member,
    Message,
    Persona,
    Post,
)
from revos.sim.personas import PersonaEngine, PersonaRecord
from revos.sim.records import HostedLink, Notification, RequestRecord
from revos.sim.scheduler import Scheduler
from revos.sim.webhooks import RETRY_DELAYS, Delivery, WebhookDispatcher
from revos.sim.world import World

AccountRef = Login | Account | str
T = TypeVar("T")
MemberRef = Member | Login | str


class Simulator:
    def __init__(
        self,
        api_key: str = "sim-key",
        seed: int = 1,
        clock: Clock | None = None,
        *,
        budgets: dict[str, int] | None = None,
        webhook_retry_delays: tuple[float, ...] = RETRY_DELAYS,
        webhook_timeout: float = 30.0,
        tick_interval: float = 0.01,
        id_seed: int | str | None = None,
    ) -> None:
        """`seed` drives the members' behaviour and faults; ids (accounts, posts, messages) come from
        `id_seed` when given, so a re-run with the same behaviour gets ids of its own."""
        self.api_key = api_key
        self.seed = seed
        self.clock = clock or get_clock()
        self.tick_interval = tick_interval
        self.ids = IdFactory(seed if id_seed is None else id_seed)
        self.world = World(self.clock, self.ids, budgets)
        self.scheduler = Scheduler(self.clock)
        self.auth = Auth(self.world)
        self.faults = FaultSet(seed)
        self.faults.on_disconnect = self.disconnect
        self.faults.on_restrict = self.restrict
        self.webhooks = WebhookDispatcher(self.clock, self.scheduler, webhook_retry_delays, webhook_timeout)
        self.personas = PersonaEngine(self.world, self.scheduler, seed)
        self.requests: list[RequestRecord] = []
        self.hosted_links: dict[str, HostedLink] = {}
        self.hosted_notifications: list[Notification] = []  # notify_url calls, in order
        self._held: dict[str, list[Message]] = {}  # messages that arrived while an account was down
        self._names = itertools.count(1)
        self.world.listeners.append(self._on_event)
        self.world.listeners.append(self.personas.on_event)

    # ---- building the world ---------------------------------------------------------------
    def add_account(
        self,
        username: str = "",
        password: str = "pw",  # noqa: S107 - a simulated login, not a secret
        checkpoint: str | Sequence[str] | None = None,
        code: str = "123456",
        name: str = "",
        *,
        access_token: str | None = None,
        premium: bool = False,
        headline: str = "",
    ) -> Login:
        """Register a LinkedIn login. The Unipile account exists once connected through POST /accounts."""
        steps = [checkpoint] if isinstance(checkpoint, str) else list(checkpoint or [])
        for step in steps:
            if step not in CHECKPOINTS:
                raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {step!r}")
        first, _, last = (name or f"Owner {next(self._names)}").partition(" ")
        member = self.world.new_member(first, last, headline, is_premium=premium)
        login = Login(
            username=username or f"{member.public_identifier}@example.com",
            password=password,
            access_token=access_token or f"AQE{self.ids.unipile()}",
            checkpoints=steps,
            code=code,
            member=member,
            premium=premium,
        )
        with self.world.lock:
            self.world.logins.append(login)
        return login

    def connect_account(self, login: Login) -> Account:
        """Shortcut for tests that don't exercise the auth flow: connect without checkpoints."""
        status, body = self.auth.connect({"provider": "LINKEDIN", "access_token": login.access_token})
        assert status == 201, body
        return self.world.accounts[body["account_id"]]

    def add_member(
        self,
        first_name: str,
        last_name: str = "",
        persona: Persona | None = None,
        connected_to: Sequence[AccountRef | Member] = (),
        *,
        headline: str = "",
        distance: str = "SECOND_DEGREE",
        open_profile: bool = False,
        premium: bool = False,
        email: str | None = None,
    ) -> Member:
        member = self.world.new_member(
            first_name,
            last_name,
            headline,
            persona=persona,
            default_distance=distance,
            is_open_profile=open_profile,
            is_premium=premium,
            email=email or (persona.email if persona else None),
        )
        for other in connected_to:
            self.connect(other, member)
        return member

    def connect(self, a: AccountRef | Member, b: MemberRef) -> None:
        """Make two members (or an account's owner and a member) 1st-degree connections."""
        self.world.connect(self._member(a), self._member(b))

    def add_post(self, author: AccountRef | Member, text: str) -> Post:
        member = self._member(author)
        account_id = self._account_id_of(author)
        return self.world.create_post(member, text, account_id)

    def add_comment(
        self, post: Post, member: MemberRef, text: str, reply_to: Comment | None = None
    ) -> Comment:
        return self.world.add_comment(post, self._member(member), text, reply_to)

    def react(
        self,
        member: AccountRef | Member,
        post: Post | str,
        reaction_type: str = "like",
        on: Comment | None = None,
    ) -> None:
        """`member` reacts by hand (in the LinkedIn app, not through the API): a pod member doing its task."""
        self.world.react(self._post(post), self._member(member), reaction_type, on)

    def repost(self, member: AccountRef | Member, post: Post | str, text: str = "") -> Post:
        """`member` reposts by hand."""
        return self.world.repost(self._post(post), self._member(member), text)

    def add_message(self, chat_id: str, member: MemberRef, text: str) -> Message:
        """An inbound DM from `member` in an existing chat (fires the messaging webhook)."""
        return self.world.post_message(self.world.find_chat(chat_id), self._member(member), text)

    # ---- account state --------------------------------------------------------------------
    def disconnect(self, account: AccountRef) -> None:
        self.world.set_status(self.account(account), "CREDENTIALS")

    def restrict(self, account: AccountRef, restricted: bool = True) -> None:
        with self.world.lock:
            self.account(account).restricted = restricted

    def approve_in_app(self, account_id: str) -> None:
        self.auth.approve_in_app(account_id)

    def set_budget(self, account: AccountRef, kind: str, limit: int) -> None:
        self.account(account).budgets[kind] = limit

    def account(self, ref: AccountRef) -> Account:
        account_id = ref if isinstance(ref, str) else ref.id if isinstance(ref, Account) else ref.account_id
        if account_id is None or account_id not in self.world.accounts:
            raise KeyError(f"no connected account for {ref!r}")
        return self.world.accounts[account_id]

    # ---- time -----------------------------------------------------------------------------
    async def run_due(self) -> int:
        """Run persona actions and webhook retries due by the clock now."""
        return await self.scheduler.run_due()

    async def settle(self, wait: float = 5.0) -> None:
        """Run what is due, then wait up to `wait` wall seconds for webhook attempts in flight."""
        await self.run_due()
        await self.webhooks.wait_idle(wait)
        await asyncio.sleep(0)

    # ---- assertions -----------------------------------------------------------------------
    def sent_messages(
        self, account_id: AccountRef | None = None, to: MemberRef | None = None
    ) -> list[Message]:
        """Messages sent by connected accounts, oldest first; `to` filters on a recipient."""
        acc = self.account(account_id).id if account_id is not None else None
        who = self._member(to) if to is not None else None
        return [
            m
            for m in self._snapshot(self.world.messages)
            if m.is_sender and (acc is None or m.account_id == acc) and (who is None or who in m.recipients)
        ]

    def received_messages(self, account_id: AccountRef | None = None) -> list[Message]:
        acc = self.account(account_id).id if account_id is not None else None
        return [
            m for m in self._snapshot(self.world.messages) if not m.is_sender and acc in (None, m.account_id)
        ]

    def sent_counts(self, account_id: AccountRef | None = None) -> Counter[str]:
        """How many messages each recipient (provider id) got: the duplicate-DM detector."""
        counts: Counter[str] = Counter()
        for m in self.sent_messages(account_id):
            counts.update(r.provider_id for r in m.recipients)
        return counts

    def invitations(
        self, account_id: AccountRef | None = None, to: MemberRef | None = None, status: str | None = None
    ) -> list[Invitation]:
        acc = self.account(account_id).id if account_id is not None else None
        who = self._member(to) if to is not None else None
        return [
            i
            for i in self._snapshot(self.world.invitations)
            if acc in (None, i.account_id) and who in (None, i.member) and status in (None, i.status)
        ]

    def comments(self, post: Post | str, author: MemberRef | None = None) -> list[Comment]:
        who = self._member(author) if author is not None else None
        return [c for c in list(self._post(post).comments) if who in (None, c.author)]

    def engagements(
        self,
        post: Post | str | None = None,
        actor: AccountRef | Member | None = None,
        kind: EngagementKind | None = None,
        *,
        through_api: bool | None = None,
    ) -> list[Engagement]:
        """Ground truth of who reacted to, commented on or reposted which post and when (simulated time),
        oldest first. `post` filters on the post engaged with, `actor` on the member who engaged;
        `through_api=True` keeps what connected accounts did through the API, False what was done by hand."""
        pid = self._post(post).id if post is not None else None
        who = self._member(actor).provider_id if actor is not None else None
        with self.world.lock:
            rows = list(self.world.engagements)
        return [
            e
            for e in rows
            if pid in (None, e.post_id)
            and who in (None, e.actor_id)
            and kind in (None, e.kind)
            and through_api in (None, e.account_id is not None)
        ]

    def engagement_duplicates(self) -> dict[tuple[str, str, str, str | None], int]:
        """What a connected account did more than once through the API — a second comment on the same post,
        a reaction made again on the same target (LinkedIn shows one; the call was still repeated), a
        second repost — keyed by (kind, post id, actor id, comment reacted to), with the count. Empty when
        every engagement happened exactly once."""
        counts = Counter(e.target for e in self.engagements(through_api=True))
        return {target: n for target, n in counts.items() if n > 1}

    def posts(self, author: AccountRef | Member | None = None) -> list[Post]:
        who = self._member(author) if author is not None else None
        return [p for p in self._snapshot(self.world.posts) if who in (None, p.author)]

    def webhook_deliveries(self, source: str | None = None, event: str | None = None) -> list[Delivery]:
        return [
            d for d in self.webhooks.deliveries if source in (None, d.source) and event in (None, d.event)
        ]

    def ground_truth(self, member: MemberRef | None = None, kind: str | None = None) -> list[PersonaRecord]:
        who = self._member(member).provider_id if member is not None else None
        return [r for r in self.personas.records if who in (None, r.member_id) and kind in (None, r.kind)]

    def calls(self, method: str | None = None, path_prefix: str = "") -> list[RequestRecord]:
        return [r for r in self.requests if method in (None, r.method) and r.path.startswith(path_prefix)]

    # ---- helpers --------------------------------------------------------------------------
    def _snapshot(self, table: dict[str, T]) -> list[T]:
        """A copy taken under the lock: the server thread may be adding rows while a test reads."""
        with self.world.lock:
            return list(table.values())

    def _post(self, ref: Post | str) -> Post:
        return ref if isinstance(ref, Post) else self.world.find_post(ref)

    def _member(self, ref: Any) -> Member:
        if isinstance(ref, Member):
            return ref
        if isinstance(ref, Login):
            return ref.member
        if isinstance(ref, Account):
            return ref.owner
        if isinstance(ref, str):
            if ref in self.world.accounts:
                return self.world.accounts[ref].owner
            return self.world.find_member(ref)
        raise TypeError(f"not a member reference: {ref!r}")

    def _account_id_of(self, ref: Any) -> str | None:
        if isinstance(ref, Account):
            return ref.id
        if isinstance(ref, Login):
            return ref.account_id
        if isinstance(ref, str) and ref in self.world.accounts:
            return ref
        if isinstance(ref, Member):
            return next((a.id for a in self.world.accounts.values() if a.owner is ref), None)
        return None

    # ---- events -> webhooks ---------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind == "message":
            msg: Message = event.data["message"]
            account = self.world.accounts.get(msg.account_id)
            if account is not None and account.status != "OK":
                # No webhooks while an account is down; delivered after reconnection (spec §9.1).
                self._held.setdefault(account.id, []).append(msg)
                return
            self._publish_message(msg)
        elif event.kind == "account_status":
            self._publish_status(event.account_id, event.data["message"])
            if event.data["message"] in ("OK", "RECONNECTED"):
                for held in self._held.pop(event.account_id, []):
                    self._publish_message(held)
        elif event.kind == "new_relation":
            self._publish_relation(event.account_id, event.data["member"])

    def _publish_message(self, msg: Message) -> None:
        account = self.world.accounts[msg.account_id]
        base = {
            "account_id": msg.account_id,
            "account_type": "LINKEDIN",
            "account_info": {"type": "LINKEDIN", "feature": "classic", "user_id": account.owner.provider_id},
            "event": "message_received",
            "chat_id": msg.chat.id,
            "timestamp": iso(msg.created_at),
            "message_id": msg.id,
            "message": msg.text,
            "sender": serialize.webhook_attendee(msg.account_id, msg.sender),
            "attendees": [serialize.webhook_attendee(msg.account_id, m) for m in msg.chat.attendees],
            "attachments": msg.attachments,
        }
        self.webhooks.publish(
            "messaging", "message_received", msg.account_id, lambda h: {**base, "webhook_name": h.name}
        )

    def _publish_status(self, account_id: str, message: str) -> None:
        payload = {
            "AccountStatus": {"account_id": account_id, "account_type": "LINKEDIN", "message": message}
        }
        self.webhooks.publish("account_status", message.lower(), account_id, lambda h: dict(payload))

    def _publish_relation(self, account_id: str, m: Member) -> None:
        base = {
            "event": "new_relation",
            "account_id": account_id,
            "account_type": "LINKEDIN",
            "user_full_name": m.name,
            "user_provider_id": m.provider_id,
            "user_public_identifier": m.public_identifier,
            "user_profile_url": m.profile_url,
            "user_picture_url": None,
        }
        self.webhooks.publish("users", "new_relation", account_id, lambda h: {**base, "webhook_name": h.name})
