"""How fast does the offline provider write, in the seeded "Professional" voice?

    .venv/bin/python bench/ai_drafting.py [--n N]

Prints drafts per second (and median/p99 milliseconds per draft) for each kind of text the offline
writer produces: posts (with 3 variants), step-1 DMs, pod comments and rewrites. One core, no database:
the writer alone, as `revos.ai.service.complete` calls it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

from revos.ai.base import CompletionRequest
from revos.ai.offline import OfflineProvider

SEED = Path(__file__).resolve().parents[1] / "supabase/migrations/20260101001900_seed_system_cartridges.sql"
TOPICS = ["outbound", "onboarding emails", "hiring a first salesperson", "webinars", "pricing pages"]


def professional_voice() -> dict[str, Any]:
    """The first system cartridge's voice, read from the migration that seeds it."""
    voice: dict[str, Any] = json.loads(re.findall(r"\$json\$(.*?)\$json\$", SEED.read_text(), re.S)[0])
    return voice


def requests(kind: str, n: int, voice: dict[str, Any]) -> list[CompletionRequest]:
    out = []
    for i in range(n):
        topic = f"{TOPICS[i % len(TOPICS)]} #{i}"
        context: dict[str, Any] = {
            "topic": topic,
            "trigger_word": "GUIDE",
            "lead_magnet_name": f"The {topic} guide",
        }
        variants = 1
        if kind == "post":
            variants = 3
        elif kind == "comment":
            context["post_text"] = f"We rebuilt our {topic} from scratch. Three things changed the results."
        elif kind == "rewrite":
            context["text"] = (
                f"Hey!!! Our {topic} is a game-changer, leverage it to disrupt your market today!!!"
            )
        elif kind == "dm":
            context |= {"first_name": f"Ana{i}", "stage": "ask_email"}
        purpose = {"post": "post", "dm": "dm", "comment": "comment", "rewrite": "rewrite"}[kind]
        out.append(
            CompletionRequest(
                system="", prompt=topic, purpose=purpose, voice=voice, context=context, variants=variants
            )
        )
    return out


async def measure(kind: str, n: int, voice: dict[str, Any]) -> None:
    provider = OfflineProvider()
    batch = requests(kind, n, voice)
    await provider.complete(batch[0])  # warm up outside the timing
    times: list[float] = []
    words = 0
    started = time.perf_counter()
    for request in batch:
        t0 = time.perf_counter()
        done = await provider.complete(request)
        times.append((time.perf_counter() - t0) * 1000)
        words += sum(len(t.split()) for t in done.texts)
    wall = time.perf_counter() - started
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"{kind:<8} {n / wall:>9,.0f} drafts/s   median {statistics.median(times):.2f} ms   "
        f"p99 {p99:.2f} ms   {words / n:.0f} words per request"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per kind")
    args = parser.parse_args()
    voice = professional_voice()
    for kind in ("post", "dm", "comment", "rewrite"):
        asyncio.run(measure(kind, args.n, voice))


if __name__ == "__main__":
    main()
