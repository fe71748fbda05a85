"""The simulator's CPU per call as its world grows: the calls revOS makes in a day, against worlds of the
day bench's sizes.

    .venv/bin/python bench/sim_scale.py [--fraction 0.1] [--accounts N] [--members N] [--posts N]
        [--engagements N] [--calls 300] [--concurrency 8]

At fraction F the world is the spec's day scaled as in `bench/day.py`: F x 2,500 accounts in pods of 25
(each pod's owners connected to one another), F x 33,334 members (nine in ten connected to one account,
one in ten a stranger), F x 30,000 posts by the accounts, F x 1,000,000 reactions (three in four) and
comments from the authors' pod members, one trigger comment per connected member, a chat of three
messages with about half of the connected members, and an invitation pending to half of the strangers.
`--accounts` and the others override one size. The world is built in the simulator's own process through
its world API (no HTTP); on top of it, each kind of call gets fresh targets of its own (members with no
chat yet for `start_chat`, strangers not yet invited for `send_invitation`).

Then, over loopback HTTP through `revos.linkedin.UnipileClient`, `--calls` calls of each kind run
`--concurrency` at a time, one kind after the other. As revOS does, a messaging webhook is registered first
(to a bare receiver in the bench's process), so every message sent costs the simulator its delivery. Printed per kind: calls, calls/s (wall, client and
simulator together on a 2-core machine) and the simulator process's CPU milliseconds per call
(`time.process_time()` of that process before and after the kind, so it includes its idle ticker, shown
alone on the last line). A figure, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import Any

API_KEY = "bench-scale-key"
NO_BUDGET = 10**9
POD = 25
FULL = {"accounts": 2500, "members": 33_334, "posts": 30_000, "engagements": 1_000_000}


@dataclass
class Targets:
    """What the calls act on: ids only, so they cross the process boundary cheaply."""

    accounts: list[str] = field(default_factory=list)
    fresh_dm: list[tuple[str, str]] = field(default_factory=list)  # (account, member with no chat yet)
    chats: list[tuple[str, str, str]] = field(default_factory=list)  # (chat, account, attendee id)
    posts: list[tuple[str, str]] = field(default_factory=list)  # (social id, account of a pod member)
    strangers: list[tuple[str, str]] = field(default_factory=list)  # (account, member not yet invited)
    profiles: list[tuple[str, str, str]] = field(default_factory=list)  # (account, provider id, public id)
    sizes: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0


def build(sizes: dict[str, int], calls: int) -> tuple[Any, Targets]:
    from revos.sim import Simulator, serialize

    started = time.perf_counter()
    budgets = dict.fromkeys(
        ("invitations", "profile_views", "messages", "comments", "reactions", "posts", "reposts"), NO_BUDGET
    )
    sim = Simulator(api_key=API_KEY, seed=5, budgets=budgets)
    world = sim.world
    out = Targets()
    logins = [sim.add_account(name=f"Pod{n // POD} Owner{n}") for n in range(max(2, sizes["accounts"]))]
    accounts = [sim.connect_account(login) for login in logins]
    out.accounts = [a.id for a in accounts]
    n_acc = len(accounts)
    pods = [accounts[i : i + POD] for i in range(0, n_acc, POD)]
    for pod in pods:
        for i, a in enumerate(pod):
            for b in pod[i + 1 :]:
                world.connect(a.owner, b.owner)

    now = world.now()
    posts = []
    for k in range(sizes["posts"]):
        author = accounts[k % n_acc]
        created = now - timedelta(minutes=sizes["posts"] - k)
        posts.append(
            (world.add_past_post(author.owner, f"Post {k} by {author.owner.name}", created), k % n_acc)
        )

    # Pod members react (three in four) and comment on each other's posts.
    per_post = max(1, sizes["engagements"] // max(1, len(posts)))
    done = 0
    for post, author in posts:
        pod = pods[author // POD]
        others = [a for a in pod if a.id != accounts[author].id] or [accounts[(author + 1) % n_acc]]
        for j in range(per_post):
            if done >= sizes["engagements"]:
                break
            actor = others[j % len(others)]
            if j % 4 == 3:
                world.add_comment(post, actor.owner, f"Great point #{j}", account_id=actor.id)
            else:
                world.react(
                    post, actor.owner, ("like", "celebrate", "insightful")[j % 3], account_id=actor.id
                )
            done += 1

    # Members: nine in ten connected to one account (a trigger comment under its latest post, a chat of
    # three messages with every other one), one in ten a stranger (every other one invited).
    latest = {accounts[a].id: p for p, a in posts}
    for n in range(sizes["members"]):
        account = accounts[n % n_acc]
        member = sim.add_member(f"Lead{n}", "Bench")
        if n % 10 == 9:
            if n % 20 == 19:
                world.invite(account, member, None)
            continue
        world.connect(account.owner, member)
        if account.id in latest:
            world.add_comment(latest[account.id], member, "GUIDE please")
        if n % 2 == 0:
            chat = world.chat_with(account, [member], inmail=False)
            world.post_message(chat, account.owner, f"Hi {member.first_name}, here is the guide")
            world.post_message(chat, member, f"Thanks! {member.first_name.lower()}@example.com")
            world.post_message(chat, account.owner, "Great, sent by email too")
            out.chats.append((chat.id, account.id, serialize.attendee_id(account.id, member.provider_id)))
        out.profiles.append((account.id, member.provider_id, member.public_identifier))

    # Fresh targets for the calls that create something.
    for n in range(calls):
        account = accounts[n % n_acc]
        fresh = sim.add_member(f"Fresh{n}", "Target", connected_to=[account])
        out.fresh_dm.append((account.id, fresh.provider_id))
        stranger = sim.add_member(f"Stranger{n}", "Target")
        out.strangers.append((account.id, stranger.provider_id))
    for post, author in posts:
        pod = pods[author // POD]
        actor = pod[(author % POD + 1) % len(pod)]
        out.posts.append((post.social_id, actor.id))

    out.sizes = {
        "accounts": len(world.accounts),
        "members": len(world.members),
        "posts": len(world.posts),
        "engagements": len(world.engagements),
        "chats": len(world.chats),
        "messages": len(world.messages),
        "invitations": len(world.invitations),
        "connections": len(world.connections),
    }
    out.build_seconds = time.perf_counter() - started
    return sim, out


def _sim_process(pipe: Connection, sizes: dict[str, int], calls: int) -> None:
    from revos.sim import serve

    sim, targets = build(sizes, calls)

    async def main() -> None:
        async with serve(sim, host="127.0.0.1", port=0) as url:
            pipe.send((url, targets))
            loop = asyncio.get_running_loop()
            while (await loop.run_in_executor(None, pipe.recv)) == "cpu":
                pipe.send(time.process_time())
            pipe.send(None)

    asyncio.run(main())


class SimProcess:
    def __init__(self, sizes: dict[str, int], calls: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_sim_process, args=(theirs, sizes, calls), daemon=True)
        self._proc.start()
        self.url: str
        self.targets: Targets
        self.url, self.targets = self._pipe.recv()

    async def cpu(self) -> float:
        self._pipe.send("cpu")
        value: float = await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        return value

    def stop(self) -> None:
        self._pipe.send("stop")
        self._pipe.recv()
        self._proc.join(15)


def cycle(items: list[Any]) -> Callable[[int], Any]:
    return lambda n: items[n % len(items)]


async def _receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A webhook receiver that answers 200 to every request, as cheaply as possible."""
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def run(sim: SimProcess, calls: int, concurrency: int) -> list[tuple[str, int, float, float]]:
    from revos.linkedin import UnipileClient
    from revos.linkedin.models import Chat, ListPage

    t = sim.targets
    account, chat, post, profile = cycle(t.accounts), cycle(t.chats), cycle(t.posts), cycle(t.profiles)
    since = "2000-01-01T00:00:00.000Z"

    async def comments_paged(c: Any, n: int) -> int:
        social_id, acc = post(n)
        _items, cursor = await c.list_comments(social_id, acc, limit=5)
        if cursor:
            await c.list_comments(social_id, acc, limit=5, cursor=cursor)
            return 2
        return 1

    async def attendee_chats(c: Any, n: int) -> None:
        await c._get(f"/chat_attendees/{chat(n)[2]}/chats", ListPage[Chat], {"limit": 10})

    kinds: dict[str, Callable[[Any, int], Awaitable[Any]]] = {
        "start_chat (new chat)": lambda c, n: c.start_chat(t.fresh_dm[n][0], t.fresh_dm[n][1], f"Hi {n}"),
        "send_message": lambda c, n: c.send_message(chat(n)[0], f"Follow-up {n}"),
        "list_chat_messages": lambda c, n: c.list_chat_messages(chat(n)[0], limit=100),
        "get_chat": lambda c, n: c.get_chat(chat(n)[0]),
        "list_chats (account)": lambda c, n: c.list_chats(account_id=account(n), limit=100),
        "list_messages (account)": lambda c, n: c.list_messages(
            account_id=account(n), limit=100, after=since
        ),
        "get_attendee": lambda c, n: c.get_attendee(chat(n)[2]),
        "attendee chats": attendee_chats,
        "react": lambda c, n: c.react(post(n)[0], post(n)[1]),
        "comment": lambda c, n: c.comment(post(n)[0], post(n)[1], f"Well said #{n}"),
        "list_comments (2 pages of 5)": comments_paged,
        "list_reactions": lambda c, n: c.list_reactions(post(n)[0], post(n)[1], limit=100),
        "repost": lambda c, n: c.repost(post(n)[1], post(n)[0].rsplit(":", 1)[-1]),
        "send_invitation": lambda c, n: c.send_invitation(t.strangers[n][1], t.strangers[n][0]),
        "list_sent_invitations": lambda c, n: c.list_sent_invitations(account(n), limit=100),
        "get_profile (provider id)": lambda c, n: c.get_profile(profile(n)[1], profile(n)[0]),
        "get_profile (public id)": lambda c, n: c.get_profile(profile(n)[2], profile(n)[0]),
        "list_relations": lambda c, n: c.list_relations(account(n), limit=200),
    }
    rows = []
    receiver = await asyncio.start_server(_receive, "127.0.0.1", 0)
    hook_url = f"http://127.0.0.1:{receiver.sockets[0].getsockname()[1]}/hooks/unipile"
    async with UnipileClient(sim.url, API_KEY, max_connections=concurrency) as client:
        await client.create_webhook(
            "messaging", hook_url, name="revos-messaging", events=["message_received"]
        )
        await client.get_own_profile(t.accounts[0])  # warm-up: connections, the app's first call
        for kind, call in kinds.items():
            todo = iter(range(calls))
            requests = 0

            async def lane(
                call: Callable[[Any, int], Awaitable[Any]] = call, todo: Iterator[int] = todo
            ) -> None:
                nonlocal requests
                for n in todo:
                    made = await call(client, n)
                    requests += made if isinstance(made, int) else 1

            cpu0 = await sim.cpu()
            started = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(concurrency)))
            seconds = time.perf_counter() - started
            cpu = await sim.cpu() - cpu0
            rows.append((kind, requests, requests / seconds, 1000 * cpu / requests))
        cpu0 = await sim.cpu()
        await asyncio.sleep(1.0)
        rows.append(("(idle, per second)", 0, 0.0, 1000 * (await sim.cpu() - cpu0)))
    receiver.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fraction", type=float, default=0.1)
    for name in FULL:
        parser.add_argument(f"--{name}", type=int, default=None)
    parser.add_argument("--calls", type=int, default=300, help="calls of each kind")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sizes = {
        k: getattr(args, k) if getattr(args, k) is not None else int(v * args.fraction)
        for k, v in FULL.items()
    }
    sim = SimProcess(sizes, args.calls)
    try:
        rows = asyncio.run(run(sim, args.calls, args.concurrency))
    finally:
        sim.stop()
    t = sim.targets
    print(
        f"\n== simulator world (built in {t.build_seconds:.1f} s): "
        + ", ".join(f"{k} {v:,}" for k, v in t.sizes.items())
    )
    print(f"{'call':<30}{'calls':>7}{'calls/s':>10}{'sim CPU ms/call':>17}")
    print("-" * 64)
    total_calls = total_cpu = 0.0
    for kind, calls, rate, cpu_ms in rows:
        if calls:
            total_calls += calls
            total_cpu += cpu_ms * calls
            print(f"{kind:<30}{calls:>7}{rate:>10.0f}{cpu_ms:>17.2f}")
        else:
            print(f"{kind:<30}{'':>7}{'':>10}{cpu_ms:>17.2f}")
    print(f"{'all calls':<30}{int(total_calls):>7}{'':>10}{total_cpu / total_calls:>17.2f}")


if __name__ == "__main__":
    main()
