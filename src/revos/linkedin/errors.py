"""Typed Unipile errors, chosen from the error body's `type` (falling back on the HTTP status).

Every error answers the two questions a task has to settle before doing anything else:

* `retryable` — may the *same call* be made again later without first checking the provider's state?
* `ambiguous` — might the action have happened on LinkedIn even though we got an error? Only sends can be
  ambiguous (a read changes nothing). An ambiguous send must be reconciled (read the chat / the comments)
  before it is retried, because Unipile v1 has no idempotency key.

Messages never contain the API key: errors are built from the response body and the request's method and
path only, never from request headers.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

# Error `detail` text comes from the provider; keep it bounded so a huge HTML error page cannot flood logs.
_MAX_DETAIL = 500


class UnipileError(Exception):
    """Base class. `status` is the HTTP status (None when the error was raised client-side)."""

    # Class defaults. `ambiguous` is per instance: a 5xx answer to a send is ambiguous, to a read it is not.
    transient: ClassVar[bool] = False
    default_type: ClassVar[str] = "errors/unexpected_error"

    def __init__(
        self,
        title: str = "",
        *,
        status: int | None = None,
        type: str | None = None,
        detail: str | None = None,
        instance: str | None = None,
        method: str | None = None,
        path: str | None = None,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.type = type or self.default_type
        self.title = title or self.__class__.__name__
        self.detail = detail[:_MAX_DETAIL] if detail else detail
        self.instance = instance
        self.method = method
        self.path = path
        self.ambiguous = ambiguous
        self.retry_after = retry_after
        super().__init__(self._message())

    @property
    def retryable(self) -> bool:
        """True when repeating the same call later is safe and may succeed.

        An ambiguous send is never retryable as such: it has to be reconciled first.
        """
        return self.transient and not self.ambiguous

    def _message(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method and self.path else ""
        status = f"{self.status} " if self.status is not None else ""
        text = f"{self.title} ({status}{self.type}){where}"
        if self.detail:
            text += f": {self.detail}"
        if self.ambiguous:
            text += " — outcome unknown, the action may have been performed"
        return text

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(status={self.status!r}, type={self.type!r}, "
            f"title={self.title!r}, ambiguous={self.ambiguous!r})"
        )


class UnipileProtocolError(UnipileError):
    """The response did not match the v1 contract (not JSON, wrong `object`, missing required fields)."""

    default_type = "client/invalid_response"


# --- 400 family ------------------------------------------------------------------------------------------


class InvalidRequest(UnipileError):
    """The request itself is wrong (400 family, 415). Fix the input; retrying is pointless."""

    default_type = "errors/invalid_parameters"


# --- 401 family ------------------------------------------------------------------------------------------


class AuthenticationError(UnipileError):
    """401 family not covered by a more specific class."""

    default_type = "errors/unauthorized"


class InvalidApiKey(AuthenticationError):
    """The Unipile API key is missing or wrong: an operator problem, not an account one."""

    default_type = "errors/missing_credentials"


class InvalidCredentials(AuthenticationError):
    """LinkedIn rejected the username/password or cookie given to connect an account."""

    default_type = "errors/invalid_credentials"


class AccountDisconnected(AuthenticationError):
    """The LinkedIn account lost its session: pause it until the user reconnects."""

    default_type = "errors/disconnected_account"


class InvalidCheckpointSolution(AuthenticationError):
    """Wrong 2FA/OTP code. The intent is still alive: the user may try another code."""

    default_type = "errors/invalid_checkpoint_solution"


class CheckpointError(AuthenticationError):
    """The checkpoint cannot be resolved through the API."""

    default_type = "errors/checkpoint_error"


class CaptchaNotSupported(CheckpointError):
    """LinkedIn asked for a CAPTCHA, which cannot be solved server-side: connect with cookies instead."""

    default_type = "errors/captcha_not_supported"

    def __init__(self, title: str = "", *, account_id: str | None = None, **kw: Any) -> None:
        self.account_id = account_id
        super().__init__(title, **kw)


class CheckpointExpired(UnipileError):
    """The ~5-minute authentication intent is over (408, 400, `authentication_intent_error`): restart."""

    default_type = "errors/authentication_intent_error"


# --- 403 -------------------------------------------------------------------------------------------------


class PermissionDenied(UnipileError):
    """403 family not covered by a more specific class."""

    default_type = "errors/insufficient_permissions"


class AccountRestricted(PermissionDenied):
    """LinkedIn restricted the account: stop all activity on it."""

    default_type = "errors/account_restricted"


# --- 404 -------------------------------------------------------------------------------------------------


class NotFound(UnipileError):
    default_type = "errors/resource_not_found"


class AccountNotFound(NotFound):
    """The Unipile account itself is gone (deleted at Unipile, or never there): no call made with it will
    work again until it is connected anew. Callers treat it as a disconnection, not as a missing post."""


# Routes whose only identifier is the account (path or `account_id` query): a 404 there is about it.
_ACCOUNT_ROUTES = re.compile(
    r"^/(?:accounts/[^/]+(?:/sync|/restart)?|messages|chats|chat_attendees|users/me|users/relations"
    r"|users/invite/sent)$"
)
_ACCOUNT_DETAIL = re.compile(r"^\s*account not found", re.IGNORECASE)


def _is_account_not_found(path: str | None, title: str, detail: str | None) -> bool:
    if _ACCOUNT_DETAIL.match(detail or "") or _ACCOUNT_DETAIL.match(title):
        return True
    return bool(path and _ACCOUNT_ROUTES.match(path.split("?", 1)[0]))


# --- 422: the provider refused this particular action ----------------------------------------------------


class ActionRejected(UnipileError):
    """422 family: LinkedIn refused the action (recipient, relationship, quota…). Not worth retrying as is."""

    default_type = "errors/unprocessable_entity"


class NotConnected(ActionRejected):
    """The recipient is not a 1st-degree connection: invite first (or use InMail)."""

    default_type = "errors/no_connection_with_recipient"


class InMailNotAllowed(ActionRejected):
    """InMail impossible: no Premium/credits and the recipient's profile is not open."""

    default_type = "errors/not_allowed_inmail"


class AlreadyInvited(ActionRejected):
    """An invitation is already pending or was sent too recently."""

    default_type = "errors/already_invited_recently"


class AlreadyConnected(ActionRejected):
    """An invitation to someone who is already a 1st-degree connection."""

    default_type = "errors/already_connected"


def already_connected(exc: BaseException) -> bool:
    """LinkedIn refused an invitation because the invitee is already a connection: `errors/already_connected`
    (spec §2, unconfirmed), or `errors/cannot_invite_attendee` saying so (as the simulator does)."""
    if isinstance(exc, AlreadyConnected):
        return True
    return (
        isinstance(exc, ActionRejected)
        and exc.type == "errors/cannot_invite_attendee"
        and "connection" in (exc.detail or exc.title or "").lower()
    )


class LimitExceeded(ActionRejected):
    """LinkedIn's own quota for this action is exhausted: wait for it to reset."""

    default_type = "errors/limit_exceeded"


# --- 429 / 5xx -------------------------------------------------------------------------------------------


class RateLimited(UnipileError):
    """429: the provider refuses more requests for now. Nothing was done, so it is safe to retry later."""

    transient = True
    default_type = "errors/too_many_requests"


class ProviderError(UnipileError):
    """5xx: Unipile or LinkedIn failed. For a send the action may have happened (see `ambiguous`)."""

    transient = True
    default_type = "errors/provider_error"


class ServiceUnavailable(ProviderError):
    default_type = "errors/service_unavailable"


class ProviderTimeout(ProviderError):
    """504 `request_timeout`, or a client-side timeout / broken connection.

    On a send this is the classic ambiguous failure: the message may well have gone out.
    """

    default_type = "errors/request_timeout"


class FeatureNotImplemented(UnipileError):
    default_type = "errors/feature_not_implemented"


# --- mapping ---------------------------------------------------------------------------------------------

_BY_TYPE: dict[str, type[UnipileError]] = {
    "errors/missing_credentials": InvalidApiKey,
    "errors/invalid_credentials": InvalidCredentials,
    "errors/invalid_credentials_but_valid_account_imap": InvalidCredentials,
    "errors/wrong_account": InvalidCredentials,
    "errors/disconnected_account": AccountDisconnected,
    "errors/expired_credentials": AccountDisconnected,
    "errors/invalid_checkpoint_solution": InvalidCheckpointSolution,
    "errors/checkpoint_error": CheckpointError,
    "errors/captcha_not_supported": CaptchaNotSupported,
    "errors/authentication_intent_error": CheckpointExpired,
    "errors/expired_link": CheckpointExpired,
    "errors/account_restricted": AccountRestricted,
    "errors/resource_not_found": NotFound,
    "errors/invalid_resource_identifier": NotFound,
    "errors/no_connection_with_recipient": NotConnected,
    "errors/not_allowed_inmail": InMailNotAllowed,
    "errors/insufficient_credits": InMailNotAllowed,
    "errors/already_invited_recently": AlreadyInvited,
    "errors/cannot_resend_yet": AlreadyInvited,
    "errors/cannot_resend_within_24hrs": AlreadyInvited,
    "errors/already_connected": AlreadyConnected,
    "errors/limit_exceeded": LimitExceeded,
    "errors/too_many_requests": RateLimited,
    "errors/request_timeout": ProviderTimeout,
    "errors/feature_not_implemented": FeatureNotImplemented,
}

_BY_STATUS: dict[int, type[UnipileError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    408: CheckpointExpired,
    413: InvalidRequest,
    415: InvalidRequest,
    422: ActionRejected,
    429: RateLimited,
    500: ProviderError,
    501: FeatureNotImplemented,
    502: ProviderError,
    503: ServiceUnavailable,
    504: ProviderTimeout,
}

# 5xx answers to a send leave the outcome unknown (the provider may have acted before failing).
# 501 is excluded: "not implemented" means nothing was attempted.
_AMBIGUOUS_ON_SEND = frozenset({500, 502, 503, 504})


def error_class_for(status: int, type_: str | None) -> type[UnipileError]:
    """Pick the exception class: `type` first (it is the contract), then the HTTP status family.

    Exception: 408 is only documented for the authentication intent window (spec §4.2), whatever `type`
    accompanies it (a `request_timeout` type there must not read as an ambiguous provider timeout).
    """
    if status == 408:
        return CheckpointExpired
    if type_ and type_ in _BY_TYPE:
        return _BY_TYPE[type_]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 400 <= status < 500:
        return InvalidRequest
    if status >= 500:
        return ProviderError
    return UnipileError


def error_from_response(
    status: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    is_send: bool = False,
    retry_after: float | None = None,
    reason: str = "",
) -> UnipileError:
    """Build the typed exception for an error response.

    `body` is the decoded JSON (or raw text when the body was not JSON). The body's `status` is informative
    only; the HTTP status is authoritative because proxies in between may rewrite bodies.
    """
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    type_ = fields.get("type") if isinstance(fields.get("type"), str) else None
    title = str(fields.get("title") or reason or f"HTTP {status}")
    detail_raw = fields.get("detail") if fields else (body if isinstance(body, str) else None)
    detail = str(detail_raw) if detail_raw not in (None, "") else None
    instance = fields.get("instance")
    cls = error_class_for(status, type_)
    if cls is NotFound and _is_account_not_found(path, title, detail):
        cls = AccountNotFound
    return cls(
        title,
        status=status,
        type=type_ or None,
        detail=detail,
        instance=str(instance) if instance is not None else None,
        method=method,
        path=path,
        ambiguous=is_send and status in _AMBIGUOUS_ON_SEND,
        retry_after=retry_after,
    )


__all__ = [
    "AccountDisconnected",
    "AccountNotFound",
    "AccountRestricted",
    "ActionRejected",
    "AlreadyInvited",
    "AuthenticationError",
    "CaptchaNotSupported",
    "CheckpointError",
    "CheckpointExpired",
    "FeatureNotImplemented",
    "InMailNotAllowed",
    "InvalidApiKey",
    "InvalidCheckpointSolution",
    "InvalidCredentials",
    "InvalidRequest",
    "LimitExceeded",
    "NotConnected",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "ProviderTimeout",
    "RateLimited",
    "ServiceUnavailable",
    "UnipileError",
    "UnipileProtocolError",
    "error_class_for",
    "error_from_response",
]
