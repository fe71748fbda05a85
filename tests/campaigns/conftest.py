from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from revos.clock import ManualClock, set_clock
from revos.runtime import Runtime
from tests.campaigns.support import Tenant, make_tenant


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    previous = set_clock(manual)
    yield manual
    set_clock(previous)


@pytest.fixture
def tenant(db_url: str, runtime: Runtime) -> Tenant:
    return make_tenant(db_url, runtime)
