"""Schemathesis over the whole OpenAPI document, against the real app served on loopback.

Every operation is called with generated valid and invalid input as a member, a client admin and agency
staff of a tenant of its own (other tests' tenants are out of reach by Row Level Security). No answer may
be a 5xx, and every answer must be one the document declares: its status code, its content type and,
for JSON, its body schema. Invalid input must be refused.

Bounded by examples per operation (REVOS_FUZZ_EXAMPLES, default 6 per credential and mode), about two
minutes on two busy cores (several on an overloaded machine: hence its own timeout).

Nothing here may depend on the machine's speed. Hypothesis replays a failing example once more to report
it: an answer that changed in between is reported as "Inconsistent results" (flaky), so every answer must
depend on the request alone. Hence no deadline, no health checks; and the transport does not depend on
timing either: the server keeps idle connections open for the whole run (uvicorn closes them after 5 s
by default, and a request the client sends on its kept-alive connection as the server closes it is lost:
'Remote end closed connection without response'; on a loaded machine, generating the next cases easily
takes that long), and requests, like the app's calls to the simulator, wait as long as a loaded machine
makes them wait. A failure is reported with the error hypothesis caught first.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from revos.accounts.provider import close_linkedin_client, configure_linkedin_client
from revos.app import create_app
from revos.clock import SystemClock, set_clock
from revos.config import get_settings
from revos.runtime import Runtime
from revos.security.jwt import Claims, issue
from revos.sim import Simulator
from revos.sim import serve as serve_sim
from tests.support import Conn, Tenant, make_client, make_tenant, make_user

EXAMPLES = int(os.environ.get("REVOS_FUZZ_EXAMPLES", "6"))
POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]
# Long enough never to elapse while the machine is merely slow; a hung request still ends the run.
PATIENCE_SECONDS = 120.0


@dataclass
class Served:
    url: str = ""
    server: uvicorn.Server | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@pytest.fixture
def served(db_url: str) -> Iterator[str]:
    """The app with a runtime of its own, in a thread with its own event loop, on a free port."""
    state = Served()

    async def run_app() -> None:
        runtime = Runtime.build(get_settings().model_copy(update={"database_url": db_url}))
        await runtime.open()
        # LinkedIn is the simulator, as in a deployment with Unipile configured.
        linkedin = serve_sim(Simulator(api_key="fuzz-key", seed=5), host="127.0.0.1", port=0)
        sim_url = await linkedin.__aenter__()
        configure_linkedin_client(
            runtime, sim_url, "fuzz-key", backoff_base=0.001, backoff_max=0.01, timeout=PATIENCE_SECONDS
        )
        try:
            config = uvicorn.Config(
                create_app(runtime),
                host="127.0.0.1",
                port=0,
                log_level="warning",
                access_log=False,
                # Never close a connection the client may be reusing at that very moment (module doc).
                timeout_keep_alive=3600,
            )
            state.server = uvicorn.Server(config)
            task = asyncio.create_task(state.server.serve())
            while not state.server.started and not task.done():  # noqa: ASYNC110 - uvicorn exposes a flag only
                await asyncio.sleep(0.02)
            if state.server.started:
                port = state.server.servers[0].sockets[0].getsockname()[1]
                state.url = f"http://127.0.0.1:{port}"
            state.ready.set()
            await task
        finally:
            await close_linkedin_client(runtime)
            await linkedin.__aexit__(None, None, None)
            await runtime.close()

    def main() -> None:
        try:
            asyncio.run(run_app())
        except BaseException as exc:  # surfaced to the test below
            state.error = exc
        finally:
            state.ready.set()

    thread = threading.Thread(target=main, name="fuzz-api", daemon=True)
    thread.start()
    assert state.ready.wait(120), "the API did not start within 120 s"
    assert state.url, f"the API did not start: {state.error!r}"
    try:
        yield state.url
    finally:
        assert state.server is not None
        state.server.should_exit = True
        thread.join(60)


def _bearer(claims: dict[str, Any]) -> dict[str, str]:
    previous = set_clock(SystemClock())
    try:
        secret = get_settings().jwt_secret
        assert secret is not None
        return {"Authorization": f"Bearer {issue(Claims.model_validate(claims), secret.get_secret_value())}"}
    finally:
        set_clock(previous)


def _is_multipart(operation: Any) -> bool:
    body = operation.definition.raw.get("requestBody", {})
    return "multipart/form-data" in body.get("content", {})


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    session: requests.Session,
    headers: dict[str, str],
    checks: list[Any],
) -> int:
    """Run one operation's generated cases; returns how many were sent, raises the first failure."""
    sent = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(
            base_url=base_url, session=session, headers=headers, checks=checks, timeout=PATIENCE_SECONDS
        )

    call()
    return sent


@pytest.fixture
async def people(owner: Conn) -> tuple[Tenant, UUID]:
    """A tenant (its user an admin, and staff of its agency) and a member of its client."""
    tenant = await make_tenant(owner)
    await make_client(owner, agency_id=tenant.agency_id)  # a second client for staff to reach
    member = (await make_user(owner, client_id=tenant.client_id, role="member"))["id"]
    return tenant, member


def _describe(exc: BaseException) -> str:
    """The failure, and for a flaky one (or a group) the errors it wraps: the first run's error is the cause."""
    text = str(exc)
    for inner in getattr(exc, "exceptions", ()):
        text += f"\n  caused by {type(inner).__name__}: {_describe(inner)}"
    return text


@pytest.mark.timeout(900)  # about two minutes; an overloaded machine only takes longer
def test_no_input_gets_a_5xx_and_every_answer_matches_the_document(
    people: tuple[Tenant, UUID], served: str
) -> None:
    tenant, member = people
    credentials = {
        "member": _bearer({"sub": str(member), "client_id": str(tenant.client_id), "user_role": "member"}),
        "admin": _bearer(
            {"sub": str(tenant.user_id), "client_id": str(tenant.client_id), "user_role": "admin"}
        ),
        "staff": _bearer(
            {"sub": str(tenant.user_id), "agency_id": str(tenant.agency_id), "user_role": "admin"}
        ),
    }
    # The document is built on first request: on an overloaded machine that outlasts the loader's 10 s.
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json", timeout=PATIENCE_SECONDS)
    session = requests.Session()
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for who, headers in credentials.items():
            # On a multipart form every value travels as text: "null" or a repeated field is a valid
            # form, so type violations cannot be sent there and only the positive checks apply.
            negative = POSITIVE_CHECKS if _is_multipart(operation) else NEGATIVE_CHECKS
            for mode, checks in (
                (GenerationMode.POSITIVE, POSITIVE_CHECKS),
                (GenerationMode.NEGATIVE, negative),
            ):
                try:
                    calls += _fuzz(operation, mode, served, session, headers, checks)
                except (KeyboardInterrupt, SystemExit, pytest.fail.Exception):
                    raise  # interrupted, or pytest's own timeout: not a finding about the operation
                except Unsatisfiable:
                    continue  # nothing in this operation can be made invalid (no parameters, no body)
                except BaseException as exc:  # schemathesis reports failures as exception groups
                    failures.append(f"{operation.label} as {who} ({mode.value}): {_describe(exc)[:3000]}")
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
    assert calls > 300
