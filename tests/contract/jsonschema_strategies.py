"""`hypothesis_jsonschema.from_schema`, working with the Hypothesis revOS pins.

hypothesis-jsonschema 0.23.1 (its latest release) builds objects with `many(...).more()`, a private
Hypothesis helper that later Hypothesis releases turned into a context manager iterated with `for`. The
class below is that helper as Hypothesis 6.150 wrote it, on today's ConjectureData, so neither package has
to move.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import hypothesis.internal.conjecture.utils as cu
import hypothesis_jsonschema._from_schema as _impl
from hypothesis_jsonschema import from_schema

__all__ = ["from_schema"]


class _Many:
    """The `many` of Hypothesis 6.150 (`while elements.more(): ...`), on today's ConjectureData."""

    def __init__(
        self,
        data: Any,
        min_size: int,
        max_size: float,
        average_size: float,
        *,
        forced: int | None = None,
        observe: bool = True,
    ) -> None:
        self.min_size = min_size
        self.max_size = max_size
        self.data = data
        self.forced_size = forced
        self.p_continue = cu._calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = 0
        self.rejections = 0
        self.drawn = False
        self.force_stop = False
        self.rejected = False
        self.observe = observe

    def _stop(self) -> None:
        if self.observe:
            self.data.stop_span()

    def more(self) -> bool:
        if self.drawn:
            self._stop()
        self.drawn = True
        self.rejected = False
        if self.observe:
            self.data.start_span(cu.ONE_FROM_MANY_LABEL)
        if self.min_size == self.max_size:
            should_continue = self.count < self.min_size
        else:
            forced: bool | None = None
            if self.force_stop:
                forced = False
            elif self.count < self.min_size:
                forced = True
            elif self.count >= self.max_size:
                forced = False
            elif self.forced_size is not None:
                forced = self.count < self.forced_size
            should_continue = self.data.draw_boolean(self.p_continue, forced=forced, observe=self.observe)
        if should_continue:
            self.count += 1
            return True
        self._stop()
        return False

    def reject(self, why: str | None = None) -> None:
        self.count -= 1
        self.rejections += 1
        self.rejected = True
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid(why)
            else:
                self.force_stop = True


if not hasattr(cu.many, "more"):
    _impl.cu = SimpleNamespace(**{name: getattr(cu, name) for name in dir(cu) if not name.startswith("__")})
    _impl.cu.many = _Many
