"""Unipile error bodies become typed exceptions that say whether to retry and whether the outcome is known."""

from __future__ import annotations

import pytest

from revos.linkedin import errors as e
from revos.linkedin.errors import error_from_response


def body(status: int, type_: str, detail: str = "details") -> dict[str, object]:
    return {"title": "T", "detail": detail, "instance": "", "type": type_, "status": status}


@pytest.mark.parametrize(
    ("status", "type_", "cls"),
    [
        pytest.param(429, "errors/too_many_requests", e.RateLimited, id="429-rate-limited"),
        pytest.param(401, "errors/disconnected_account", e.AccountDisconnected, id="401-disconnected"),
        pytest.param(401, "errors/invalid_credentials", e.InvalidCredentials, id="401-bad-password"),
        pytest.param(401, "errors/missing_credentials", e.InvalidApiKey, id="401-api-key"),
        pytest.param(
            401, "errors/invalid_checkpoint_solution", e.InvalidCheckpointSolution, id="401-bad-code"
        ),
        pytest.param(401, "errors/checkpoint_error", e.CheckpointError, id="401-checkpoint-error"),
        pytest.param(401, "errors/captcha_not_supported", e.CaptchaNotSupported, id="401-captcha"),
        pytest.param(500, "errors/authentication_intent_error", e.CheckpointExpired, id="500-intent-killed"),
        pytest.param(408, "errors/request_timeout", e.CheckpointExpired, id="408-intent-window"),
        pytest.param(408, "errors/whatever", e.CheckpointExpired, id="408-untyped-intent-expired"),
        pytest.param(403, "errors/account_restricted", e.AccountRestricted, id="403-restricted"),
        pytest.param(403, "errors/feature_not_subscribed", e.PermissionDenied, id="403-other"),
        pytest.param(404, "errors/resource_not_found", e.NotFound, id="404"),
        pytest.param(422, "errors/no_connection_with_recipient", e.NotConnected, id="422-not-connected"),
        pytest.param(422, "errors/not_allowed_inmail", e.InMailNotAllowed, id="422-inmail"),
        pytest.param(422, "errors/insufficient_credits", e.InMailNotAllowed, id="422-no-credits"),
        pytest.param(422, "errors/already_invited_recently", e.AlreadyInvited, id="422-already-invited"),
        pytest.param(422, "errors/cannot_resend_yet", e.AlreadyInvited, id="422-cannot-resend"),
        pytest.param(422, "errors/limit_exceeded", e.LimitExceeded, id="422-limit"),
        pytest.param(422, "errors/blocked_recipient", e.ActionRejected, id="422-other"),
        pytest.param(400, "errors/too_many_characters", e.InvalidRequest, id="400-family"),
        pytest.param(415, "errors/unsupported_media_type", e.InvalidRequest, id="415"),
        pytest.param(500, "errors/provider_error", e.ProviderError, id="500"),
        pytest.param(501, "errors/feature_not_implemented", e.FeatureNotImplemented, id="501"),
        pytest.param(503, "errors/network_down", e.ServiceUnavailable, id="503"),
        pytest.param(504, "errors/request_timeout", e.ProviderTimeout, id="504"),
        pytest.param(599, "errors/brand_new", e.ProviderError, id="unknown-5xx"),
        pytest.param(418, "errors/brand_new", e.InvalidRequest, id="unknown-4xx"),
    ],
)
def test_type_then_status_picks_the_class(status: int, type_: str, cls: type[e.UnipileError]) -> None:
    err = error_from_response(status, body(status, type_), method="GET", path="/x")
    assert type(err) is cls
    assert (err.status, err.type, err.title, err.detail) == (status, type_, "T", "details")


def test_type_wins_over_status() -> None:
    # A proxy may rewrite the status; the body's `type` is the contract.
    err = error_from_response(400, body(400, "errors/disconnected_account"))
    assert isinstance(err, e.AccountDisconnected)


def test_non_json_error_body_falls_back_on_status() -> None:
    err = error_from_response(502, "<html>bad gateway</html>", reason="Bad Gateway")
    assert isinstance(err, e.ProviderError)
    assert err.title == "Bad Gateway"
    assert err.detail == "<html>bad gateway</html>"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_a_send_is_ambiguous_and_not_retryable(status: int) -> None:
    err = error_from_response(status, body(status, "errors/provider_error"), is_send=True)
    assert err.ambiguous
    assert not err.retryable


@pytest.mark.parametrize("status", [500, 503, 504])
def test_5xx_on_a_read_is_retryable(status: int) -> None:
    err = error_from_response(status, body(status, "errors/provider_error"), is_send=False)
    assert not err.ambiguous
    assert err.retryable


def test_rate_limit_is_never_ambiguous() -> None:
    err = error_from_response(429, body(429, "errors/too_many_requests"), is_send=True)
    assert err.retryable
    assert not err.ambiguous


@pytest.mark.parametrize("type_", ["errors/no_connection_with_recipient", "errors/already_invited_recently"])
def test_refusals_are_final(type_: str) -> None:
    err = error_from_response(422, body(422, type_), is_send=True)
    assert not err.retryable
    assert not err.ambiguous


def test_message_names_route_and_outcome_but_is_bounded() -> None:
    err = error_from_response(
        504, body(504, "errors/request_timeout", "x" * 5000), method="POST", path="/chats", is_send=True
    )
    text = str(err)
    assert "POST /chats" in text
    assert "504" in text
    assert "may have been performed" in text
    assert len(err.detail or "") == 500
    assert "ProviderTimeout" in repr(err)
