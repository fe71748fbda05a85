"""The cyclic collector of long-running processes (`revos worker`, `revos serve`): tuned once, and garbage in
cycles still reclaimed without anyone asking. Each case runs in a Python of its own: the tuning is
process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from revos.cli.common import COLLECTOR_THRESHOLDS


def _python(code: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_cycles_made_after_tuning_are_reclaimed_without_an_explicit_collection() -> None:
    got = _python(
        """
        import gc, json, weakref
        from revos.cli.common import tune_collector

        class Node:
            pass

        tune_collector()
        frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
        # Once per process: a second call (another command in the same process) freezes nothing more, so
        # what lives at that moment and dies later is still collected.
        later = Node()
        later.me = later
        watch = weakref.ref(later)
        tune_collector()
        del later
        gc.collect()
        second = {"frozen": gc.get_freeze_count(), "collected": watch() is None}
        alive = []

        for _ in range(300_000):  # a job's worth of objects in cycles, dropped at once
            a, b = Node(), Node()
            a.other, b.other = b, a
            alive.append(weakref.ref(a))
        left = sum(1 for r in alive if r() is not None)
        print(json.dumps({"left": left, "threshold": threshold, "frozen": frozen, "second": second}))
        """
    )
    assert tuple(got["threshold"]) == COLLECTOR_THRESHOLDS
    assert got["frozen"] > 1_000  # the modules, classes and settings loaded by then
    assert got["second"] == {"frozen": got["frozen"], "collected": True}
    # Only the last batch, not yet collected, may be left: at most one first-generation threshold of objects.
    assert got["left"] <= COLLECTOR_THRESHOLDS[0]
