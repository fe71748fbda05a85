"""The client reads everything Unipile may send: bodies generated from the SDK's own response schemas.

For every response schema of `unipile-node-sdk` (tests/contract/schemas), Hypothesis generates bodies the
schema allows (optional fields absent, nulls where allowed, unknown extra fields, every enum value, any
string where the schema says string) and serves them to the public `UnipileClient` method that reads that
route. None may fail to parse: a `UnipileProtocolError` here is a body Unipile is entitled to send that
revOS would choke on. Error bodies (spec §3) must always become a typed `UnipileError`.

Bodies are served by an in-process httpx transport: this test is about reading, not about LinkedIn.
Where a schema is a union over Unipile's providers (WhatsApp, mail, …), only the LinkedIn branch is used
for calls that name a LinkedIn account; an account list may hold any provider, so it keeps them all.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from revos.linkedin import Checkpoint, UnipileClient, UnipileError
from revos.linkedin.errors import CaptchaNotSupported, UnipileProtocolError
from tests.contract import unipile_schemas
from tests.contract.jsonschema_strategies import from_schema

# Deterministic (derandomize); raise REVOS_CONTRACT_EXAMPLES for a deeper search before a release.
EXAMPLES = int(os.environ.get("REVOS_CONTRACT_EXAMPLES", "10"))
Call = Callable[[UnipileClient], Awaitable[Any]]
WHEN = datetime(2030, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    schema: str
    call: Call
    linkedin_only: bool = False


def _first(result: Any) -> Any:
    """What revOS reads of a result, so lazily computed properties are exercised too."""
    if isinstance(result, tuple):
        result = result[0]
    items = result if isinstance(result, list) else [result]
    for item in items:
        for name in ("status", "full_name", "is_first_degree", "needs_code", "solvable", "finished", "type"):
            if hasattr(type(item), name) and isinstance(getattr(type(item), name), property):
                getattr(item, name)
    return result


CASES: dict[str, Case] = {
    "list accounts": Case("AccountList", lambda c: c.list_accounts()),
    "get account": Case("Account", lambda c: c.get_account("acc"), linkedin_only=True),
    "connect": Case("AccountConnect", lambda c: c.connect_account(username="u@example.com", password="p")),
    "reconnect": Case("AccountReconnect", lambda c: c.reconnect_account("acc", access_token="li_at")),
    "solve checkpoint": Case("AccountSolveCheckpoint", lambda c: c.solve_checkpoint("acc", "123456")),
    "delete account": Case("AccountDeleted", lambda c: c.delete_account("acc")),
    "resync": Case("AccountResync", lambda c: c.resync_account("acc")),
    "hosted link": Case("HostedAuthUrl", lambda c: c.create_hosted_auth_link(expires_on=WHEN)),
    "profile": Case("UserProfile", lambda c: c.get_profile("ann-lee", "acc"), linkedin_only=True),
    "own profile": Case("AccountOwnerProfile", lambda c: c.get_own_profile("acc"), linkedin_only=True),
    "relations": Case("UserRelationsList", lambda c: c.list_relations("acc")),
    "invite": Case("UserInvitationSent", lambda c: c.send_invitation("ACoAAx", "acc", "hello")),
    "sent invitations": Case("InvitationList", lambda c: c.list_sent_invitations("acc")),
    "cancel invitation": Case("InvitationCanceled", lambda c: c.cancel_invitation("inv", "acc")),
    "user posts": Case("PostList", lambda c: c.list_user_posts("ACoAAx", "acc")),
    "get post": Case("Post", lambda c: c.get_post("7300000000000000000", "acc")),
    "create post": Case("PostCreated", lambda c: c.create_post("acc", "hello")),
    "comments": Case("CommentList", lambda c: c.list_comments("urn:li:activity:1", "acc")),
    "comment": Case("CommentSent", lambda c: c.comment("urn:li:activity:1", "acc", "hi")),
    "react": Case("ReactionAdded", lambda c: c.react("urn:li:activity:1", "acc")),
    "chats": Case("ChatList", lambda c: c.list_chats(account_id="acc")),
    "get chat": Case("Chat", lambda c: c.get_chat("chat")),
    "start chat": Case("ChatStarted", lambda c: c.start_chat("acc", "ACoAAx", "hi")),
    "chat messages": Case("MessageList", lambda c: c.list_chat_messages("chat")),
    "messages": Case("MessageList", lambda c: c.list_messages(account_id="acc")),
    "get message": Case("Message", lambda c: c.get_message("msg")),
    "send message": Case("MessageSent", lambda c: c.send_message("chat", "hi")),
    "chat attendees": Case("ChatAttendeeListByChat", lambda c: c.list_chat_attendees("chat")),
    "attendees": Case("ChatAttendeeList", lambda c: c.list_attendees(account_id="acc")),
    "get attendee": Case("ChatAttendee", lambda c: c.get_attendee("att")),
    "webhooks": Case("WebhookList", lambda c: c.list_webhooks()),
    "create webhook": Case("WebhookCreated", lambda c: c.create_webhook("messaging", "https://x.test/h")),
    "delete webhook": Case("WebhookDeleted", lambda c: c.delete_webhook("wh")),
}


def _linkedin_branch(schema: dict[str, Any]) -> dict[str, Any]:
    """The branch of a per-provider union that describes a LinkedIn answer."""
    if "anyOf" not in schema:
        return schema
    for branch in schema["anyOf"]:
        props = branch.get("properties", {})
        if any(props.get(k, {}).get("const") == "LINKEDIN" for k in ("provider", "type")):
            return {"$schema": schema.get("$schema"), **branch}
    raise AssertionError(f"{schema.get('title')}: no LinkedIn branch")


def _strategy(case: Case) -> st.SearchStrategy[Any]:
    schema = unipile_schemas.schema(case.schema)
    return from_schema(_linkedin_branch(schema) if case.linkedin_only else schema)


def _serve(status: int, body: Any) -> httpx.MockTransport:
    raw = json.dumps(body).encode()
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=raw, headers={"content-type": "application/json"})
    )


async def _call(case: Case, status: int, body: Any) -> Any:
    client = UnipileClient(
        "https://api1.unipile.com:13111", "key", read_retries=0, transport=_serve(status, body)
    )
    async with client:
        return await case.call(client)


def test_every_sdk_response_schema_has_a_parsing_case() -> None:
    served = {
        name for name, entry in unipile_schemas.manifest()["schemas"].items() if entry["source"] == "sdk"
    }
    # setChatStatus is the SDK's; revOS never marks chats read, so the client has no method for it.
    assert served - {c.schema for c in CASES.values()} == {"ChatPatched"}


@pytest.mark.parametrize("name", list(CASES))
def test_the_client_parses_every_body_the_sdk_schema_allows(name: str) -> None:
    case = CASES[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        # No "explain" phase: it replays every failure many times over, minutes on these schemas.
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(body=_strategy(case))
    def parses(body: Any) -> None:
        assert not unipile_schemas.problems(case.schema, body)  # the generator keeps to the schema
        try:
            result = asyncio.run(_call(case, 200, body))
        except CaptchaNotSupported:
            # A CAPTCHA checkpoint is read, then refused with a reason (connect with the cookie instead).
            assert body["object"] == "Checkpoint"
            assert body["checkpoint"]["type"] == "CAPTCHA"
            return
        except UnipileProtocolError as exc:
            pytest.fail(
                f"{name}: a body {unipile_schemas.sdk_version()} allows was refused: {exc}\n{body!r:.2000}"
            )
        _first(result)
        if isinstance(result, Checkpoint):
            assert result.account_id == body["account_id"]

    parses()


@settings(
    max_examples=EXAMPLES * 2,
    deadline=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
)
@given(
    status=st.sampled_from([400, 401, 403, 404, 408, 415, 422, 429, 500, 501, 503, 504]),
    body=from_schema(unipile_schemas.schema("Error")),
    send=st.booleans(),
)
def test_every_error_body_becomes_a_typed_error(status: int, body: dict[str, Any], send: bool) -> None:
    case = CASES["send message" if send else "get post"]
    with pytest.raises(UnipileError) as raised:
        asyncio.run(_call(case, status, body))
    error = raised.value
    assert not isinstance(error, UnipileProtocolError)
    assert error.status == status
    assert error.type == body["type"]
    # Only a send can have happened despite the error; a read never is.
    assert not error.ambiguous or send
