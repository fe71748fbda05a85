from __future__ import annotations

import pytest

from revos.runtime import Runtime
from tests.campaigns.support import Tenant, make_tenant


@pytest.fixture
def tenant(db_url: str, runtime: Runtime) -> Tenant:
    return make_tenant(db_url, runtime)
