"""Throughput and latency of the Unipile client against the simulator on loopback (zero injected latency).

    .venv/bin/python bench/linkedin_client.py [--requests 2000] [--comments 2000] [--concurrency 1 16]

Two set-ups are measured: the simulator on its own thread and event loop (`serve_in_thread`, the default,
closer to a separate server although both threads share the GIL), and the simulator on the client's own
event loop (`--mode loop`). Either way the figures are client + loopback HTTP + simulator routing in one
Python process: an upper bound on what the client itself costs. Not a pass/fail test; it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from revos.linkedin import UnipileClient
from revos.sim import Simulator, serve, serve_in_thread

API_KEY = "bench-key"
NO_BUDGET = 10**9


@dataclass
class Result:
    name: str
    concurrency: int
    calls: int
    seconds: float
    latencies_ms: list[float]
    items: int = 0

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        items = f"{self.items / self.seconds:>10.0f}" if self.items else f"{'-':>10}"
        return (
            f"{self.name:<28}{self.concurrency:>5}{self.calls:>8}{self.calls / self.seconds:>10.0f}"
            f"{items}{p50:>9.2f}{p99:>9.2f}"
        )


async def measure(name: str, calls: int, concurrency: int, op: Callable[[int], Awaitable[int]]) -> Result:
    """Run `op(i)` for i in range(calls) with `concurrency` workers; `op` returns the items it fetched."""
    latencies: list[float] = []
    items = 0
    counter = iter(range(calls))

    async def worker() -> None:
        nonlocal items
        for i in counter:
            started = time.perf_counter()
            fetched = await op(i)  # not `items += await …`: that reads `items` before the await
            items += fetched
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, concurrency, calls, time.perf_counter() - started, latencies, items)


def build_world(comments: int) -> tuple[Simulator, str, str, str]:
    budgets = dict.fromkeys(("messages", "profile_views", "comments", "reactions", "posts"), NO_BUDGET)
    sim = Simulator(api_key=API_KEY, seed=7, budgets=budgets)
    login = sim.add_account(username="bench@example.com", password="pw", name="Bench Owner")
    account = sim.connect_account(login)
    friend = sim.add_member("Ann", "Lee", connected_to=[login])
    post = sim.add_post(login, "Comment GUIDE below")
    commenters = [sim.add_member(f"C{n}", "Commenter") for n in range(50)]
    for n in range(comments):
        sim.add_comment(post, commenters[n % len(commenters)], f"GUIDE please #{n}")
    return sim, account.id, friend.provider_id, post.id


async def run(
    base_url: str, account_id: str, friend_id: str, post_id: str, args: argparse.Namespace
) -> list[Result]:
    results: list[Result] = []
    async with UnipileClient(base_url, API_KEY, max_connections=max(args.concurrency)) as client:
        post = await client.get_post(post_id, account_id)
        started = await client.start_chat(account_id, friend_id, "warm-up")
        chat_id = started.chat_id or ""

        async def get_post(_: int) -> int:
            await client.get_post(post_id, account_id)
            return 1

        async def comment_page(_: int) -> int:
            items, _cursor = await client.list_comments(post.social_id, account_id, limit=100)
            return len(items)

        async def walk_all_comments(_: int) -> int:
            return len([c async for c in client.iter_comments(post.social_id, account_id, limit=100)])

        async def send_message(i: int) -> int:
            await client.send_message(chat_id, f"bench message {i}")
            return 1

        walks = max(1, args.requests // 100)
        for concurrency in args.concurrency:
            results.append(await measure("get-post", args.requests, concurrency, get_post))
            results.append(
                await measure("list-comments (page of 100)", args.requests // 4, concurrency, comment_page)
            )
            results.append(
                await measure(f"walk {post.comment_counter} comments", walks, concurrency, walk_all_comments)
            )
            results.append(await measure("send-message", args.requests // 2, concurrency, send_message))
    return results


def report(title: str, results: list[Result]) -> None:
    print()
    print(title)
    print(f"{'operation':<28}{'conc':>5}{'calls':>8}{'calls/s':>10}{'items/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    print("-" * 79)
    for result in results:
        print(result.row())
    print()
    print("items/s: comments per second for comment listing; 'walk' = one full cursor walk (pages of 100).")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--mode", choices=["thread", "loop", "both"], default="both")
    args = parser.parse_args()
    if args.mode in ("thread", "both"):
        sim, account_id, friend_id, post_id = build_world(args.comments)
        with serve_in_thread(sim, host="127.0.0.1", port=0) as base_url:
            results = asyncio.run(run(base_url, account_id, friend_id, post_id, args))
        report("simulator on its own thread (serve_in_thread)", results)
    if args.mode in ("loop", "both"):
        report("simulator on the client's event loop (serve)", asyncio.run(in_loop(args)))


async def in_loop(args: argparse.Namespace) -> list[Result]:
    sim, account_id, friend_id, post_id = build_world(args.comments)
    async with serve(sim, host="127.0.0.1", port=0) as base_url:
        return await run(base_url, account_id, friend_id, post_id, args)


if __name__ == "__main__":
    main()
