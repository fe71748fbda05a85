"""Base URL handling, request validation before the network, and secrets kept out of reprs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from revos.linkedin import InvalidRequest, UnipileClient, normalize_base_url
from revos.linkedin._http import format_datetime, seg
from revos.linkedin.requests import ConnectAccountRequest, SolveCheckpointRequest, StartChatRequest


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("api1.unipile.com:13111", "https://api1.unipile.com:13111", id="dsn"),
        pytest.param(" api8.unipile.com:13851/ ", "https://api8.unipile.com:13851", id="dsn-padded"),
        pytest.param(
            "https://api1.unipile.com:13111/api/v1", "https://api1.unipile.com:13111", id="with-prefix"
        ),
        pytest.param("http://127.0.0.1:5555", "http://127.0.0.1:5555", id="loopback-http"),
        pytest.param("http://localhost:8000/unipile/", "http://localhost:8000/unipile", id="sub-path"),
    ],
)
def test_base_url_accepts_dsn_or_url(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


@pytest.mark.parametrize("bad", ["", "   ", "ftp://x.example", "https://x.example/?a=1", "api 1.unipile.com"])
def test_base_url_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_base_url(bad)


async def test_requests_go_under_api_v1_with_key_and_accept_headers() -> None:
    async with UnipileClient("api1.unipile.com:13111", "secret-key") as client:
        http = client._http
        assert str(http.base_url) == "https://api1.unipile.com:13111/api/v1/"
        assert http.headers["X-API-KEY"] == "secret-key"
        assert http.headers["accept"] == "application/json"
        assert "secret-key" not in repr(client)


def test_client_requires_an_api_key() -> None:
    with pytest.raises(ValueError):
        UnipileClient("api1.unipile.com:13111", "")


def test_path_segments_keep_urns_readable_but_escape_slashes() -> None:
    assert seg("urn:li:activity:7332661864792854528") == "urn:li:activity:7332661864792854528"
    assert seg("a/b c") == "a%2Fb%20c"
    with pytest.raises(InvalidRequest):
        seg("")


def test_datetime_filters_use_unipile_format() -> None:
    when = datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert format_datetime(when) == "2025-12-31T23:59:59.999Z"
    paris = datetime(2026, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert format_datetime(paris) == "2025-12-31T23:00:00.000Z"
    with pytest.raises(ValueError):
        format_datetime(datetime(2026, 1, 1))


def test_connect_needs_exactly_one_credential_kind() -> None:
    ConnectAccountRequest(username="a@b.c", password="pw")
    ConnectAccountRequest(access_token="li_at", user_agent="Mozilla/5.0")
    with pytest.raises(ValueError):
        ConnectAccountRequest(username="a@b.c")
    with pytest.raises(ValueError):
        ConnectAccountRequest(username="a@b.c", password="pw", access_token="x")


def test_secrets_are_masked_in_request_reprs() -> None:
    text = repr(ConnectAccountRequest(username="a@b.c", password="hunter2"))
    assert "hunter2" not in text
    assert "a@b.c" in text
    assert "424242" not in repr(SolveCheckpointRequest(account_id="acc", code="424242"))


def test_start_chat_form_repeats_attendees_and_brackets_linkedin_options() -> None:
    form = StartChatRequest(
        account_id="acc",
        attendees_ids=["ACoA1", "ACoA2"],
        text="hi",
        linkedin_api="classic",
        linkedin_inmail=True,
    )
    parts = form.parts([("a.pdf", b"%PDF", "application/pdf")])
    fields = [(name, value) for name, value in parts]
    assert ("attendees_ids", (None, "ACoA1")) in fields
    assert ("attendees_ids", (None, "ACoA2")) in fields
    assert ("linkedin[api]", (None, "classic")) in fields
    assert ("linkedin[inmail]", (None, "true")) in fields
    assert ("attachments", ("a.pdf", b"%PDF", "application/pdf")) in fields
