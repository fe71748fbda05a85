"""The cyclic collector of long-running processes (`revos worker`, `revos serve`): tuned once, and garbage in
cycles still reclaimed without anyone asking. Each case runs in a Python of its own: the tuning is
process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from revos.cli.common import COLLECTOR_THRESHOLDS


def _python(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cycles_made_after_tuning_are_reclaimed_without_an_explicit_collection() -> None:
    got = _python(
        """
        import gc, json, weakref
        from revos.cli.common import tune_collector

        tune_collector()
        tune_collector()  # once per process: a second call changes nothing
        alive = []

        class Node:
            pass

        for _ in range(300_000):  # a job's worth of objects in cycles, dropped at once
            a, b = Node(), Node()
            a.other, b.other = b, a
            alive.append(weakref.ref(a))
        left = sum(1 for r in alive if r() is not None)
        print(json.dumps({"left": left, "threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
        """
    )
    assert tuple(got["threshold"]) == COLLECTOR_THRESHOLDS  # type: ignore[arg-type]
    assert int(got["frozen"]) > 1_000  # type: ignore[call-overload]  # the modules, classes and settings
    # Only the last batch, not yet collected, may be left: at most one first-generation threshold of objects.
    assert int(got["left"]) <= COLLECTOR_THRESHOLDS[0]  # type: ignore[call-overload]
