"""Accounts (connect, checkpoints, reconnect), users/profiles and invitations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import Any, Literal, TypeVar

from revos.linkedin._http import HttpCore, build_request, format_datetime, page_params, seg
from revos.linkedin.errors import (
    ActionRejected,
    AlreadyInvited,
    CaptchaNotSupported,
    CheckpointExpired,
    InvalidRequest,
)
from revos.linkedin.models import (
    Account,
    AccountCreated,
    AccountDeleted,
    AccountOwnerProfile,
    AccountReconnected,
    AccountRestarted,
    AccountResync,
    Checkpoint,
    CheckpointResend,
    ConnectResult,
    HostedAuthUrl,
    InvitationCanceled,
    ListPage,
    SentInvitation,
    UserInvitationSent,
    UserProfile,
    UserRelation,
)
from revos.linkedin.pagination import iterate_items
from revos.linkedin.requests import (
    ConnectAccountRequest,
    HostedAuthLinkRequest,
    InviteRequest,
    Proxy,
    ResendCheckpointRequest,
    SolveCheckpointRequest,
)

T = TypeVar("T")


def _reject_captcha(result: AccountCreated | AccountReconnected | Checkpoint) -> None:
    # A CAPTCHA checkpoint can never be solved through the API; returning it as if the user could type a
    # code would leave them stuck. Surface it as an error that says what to do instead.
    if isinstance(result, Checkpoint) and not result.solvable:
        raise CaptchaNotSupported(
            "LinkedIn asked for a CAPTCHA",
            account_id=result.account_id,
            detail="CAPTCHA checkpoints cannot be solved server-side; connect with the li_at cookie instead",
        )


# 400s that mean "your request is malformed", as opposed to "this authentication intent no longer exists".
_MALFORMED = frozenset({"errors/missing_parameters", "errors/invalid_parameters", "errors/malformed_request"})


async def _intent_call(call: Awaitable[T]) -> T:
    """Run a checkpoint call; a 400 that is not about the body means the ~5-minute intent is gone.

    Unipile documents "408 after the window, 400 once the intent has self-destructed" without a dedicated
    error type, so the route is what tells an expired intent apart from a generic bad request.
    """
    try:
        return await call
    except InvalidRequest as exc:
        if exc.status != 400 or exc.type in _MALFORMED:
            raise
        raise CheckpointExpired(
            exc.title, status=exc.status, type=exc.type, detail=exc.detail, method=exc.method, path=exc.path
        ) from exc


def _epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidRequest(
            "naive datetime", type="client/invalid_request", detail="give a timezone-aware one"
        )
    return int(value.timestamp() * 1000)


class AccountsAPI(HttpCore):
    # --- accounts -----------------------------------------------------------------------------------------

    async def connect_account(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        access_token: str | None = None,
        premium_token: str | None = None,
        user_agent: str | None = None,
        proxy: Proxy | None = None,
        country: str | None = None,
    ) -> AccountCreated | Checkpoint:
        """Connect a LinkedIn account with username/password or the `li_at` cookie (+ browser user agent).

        Returns `AccountCreated`, or a `Checkpoint` to solve with `solve_checkpoint`. Branches on `object`,
        never on the HTTP status (202 vs 201 is unconfirmed). Raises `CaptchaNotSupported` for CAPTCHA.
        """
        body = build_request(
            ConnectAccountRequest,
            username=username,
            password=password,
            access_token=access_token,
            premium_token=premium_token,
            user_agent=user_agent,
            proxy=proxy,
            country=country,
        ).body()
        result: AccountCreated | AccountReconnected | Checkpoint = await self._send(
            "POST", "/accounts", ConnectResult, json=body
        )
        _reject_captcha(result)
        if isinstance(result, AccountReconnected):
            # Not expected on a create; treat it as the account now existing rather than failing.
            return AccountCreated(object="AccountCreated", account_id=result.account_id)
        return result

    async def solve_checkpoint(
        self, account_id: str, code: str
    ) -> AccountCreated | AccountReconnected | Checkpoint:
        """Answer a 2FA/OTP (or PHONE_REGISTER/CONTRACT_CHOOSER) checkpoint; may chain another checkpoint."""
        body = build_request(SolveCheckpointRequest, account_id=account_id, code=code).body()
        result: AccountCreated | AccountReconnected | Checkpoint = await _intent_call(
            self._send("POST", "/accounts/checkpoint", ConnectResult, json=body)
        )
        _reject_captcha(result)
        return result

    async def resend_checkpoint(self, account_id: str) -> CheckpointResend:
        """Ask LinkedIn for a new code. Too soon → `ActionRejected` (`errors/cannot_resend_yet`)."""
        body = build_request(ResendCheckpointRequest, account_id=account_id).body()
        try:
            result: CheckpointResend = await _intent_call(
                self._send("POST", "/accounts/checkpoint/resend", CheckpointResend, json=body)
            )
        except AlreadyInvited as exc:
            # `cannot_resend_yet` is shared with invitations; here it is about a code, not an invitation.
            raise ActionRejected(
                exc.title,
                status=exc.status,
                type=exc.type,
                detail=exc.detail,
                method=exc.method,
                path=exc.path,
            ) from exc
        return result

    async def reconnect_account(
        self,
        account_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        access_token: str | None = None,
        premium_token: str | None = None,
        user_agent: str | None = None,
        proxy: Proxy | None = None,
    ) -> AccountReconnected | AccountCreated | Checkpoint:
        body = build_request(
            ConnectAccountRequest,
            username=username,
            password=password,
            access_token=access_token,
            premium_token=premium_token,
            user_agent=user_agent,
            proxy=proxy,
        ).body()
        result: AccountCreated | AccountReconnected | Checkpoint = await self._send(
            "POST", f"/accounts/{seg(account_id)}", ConnectResult, json=body
        )
        _reject_captcha(result)
        return result

    async def resync_account(
        self,
        account_id: str,
        *,
        linkedin_product: Literal["classic", "recruiter", "sales_navigator"] | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
    ) -> AccountResync:
        """Start (or poll) a resync of the account's LinkedIn messaging; call again until `finished`.

        `before`/`after` bound the messages resynced; Unipile takes them as epoch milliseconds."""
        params = {
            "linkedin_product": linkedin_product,
            "before": _epoch_ms(before),
            "after": _epoch_ms(after),
        }
        result: AccountResync = await self._get(f"/accounts/{seg(account_id)}/sync", AccountResync, params)
        return result

    async def restart_account(self, account_id: str) -> AccountRestarted:
        """Restart the sources of a "frozen" account (status ERROR/STOPPED); a CREDENTIALS one needs a
        reconnect instead."""
        result: AccountRestarted = await self._send(
            "POST", f"/accounts/{seg(account_id)}/restart", AccountRestarted
        )
        return result

    async def create_hosted_auth_link(
        self,
        *,
        expires_on: datetime,
        api_url: str | None = None,
        reconnect_account: str | None = None,
        name: str | None = None,
        notify_url: str | None = None,
        success_redirect_url: str | None = None,
        failure_redirect_url: str | None = None,
    ) -> HostedAuthUrl:
        """A link to Unipile's own page where the member connects their LinkedIn account (or reconnects
        `reconnect_account`): the login never passes through revOS. `notify_url` is called with
        `{status, account_id, name}` when it is done; `name` comes back as given (spec §4.3).
        `api_url` defaults to the client's own base URL (the DSN)."""
        body = build_request(
            HostedAuthLinkRequest,
            type="reconnect" if reconnect_account else "create",
            providers=None if reconnect_account else ["LINKEDIN"],
            reconnect_account=reconnect_account,
            api_url=api_url or self.base_url,
            expires_on=format_datetime(expires_on),
            name=name,
            notify_url=notify_url,
            success_redirect_url=success_redirect_url,
            failure_redirect_url=failure_redirect_url,
        ).body()
        result: HostedAuthUrl = await self._send("POST", "/hosted/accounts/link", HostedAuthUrl, json=body)
        return result

    async def get_account(self, account_id: str) -> Account:
        result: Account = await self._get(f"/accounts/{seg(account_id)}", Account)
        return result

    async def list_accounts(
        self, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Account], str | None]:
        page: ListPage[Account] = await self._get(
            "/accounts", ListPage[Account], page_params(limit, cursor, max_limit=250)
        )
        return page.items, page.cursor

    def iter_accounts(self, *, limit: int = 100) -> AsyncIterator[Account]:
        return iterate_items(lambda cursor: self.list_accounts(limit=limit, cursor=cursor))

    async def delete_account(self, account_id: str) -> AccountDeleted:
        result: AccountDeleted = await self._send("DELETE", f"/accounts/{seg(account_id)}", AccountDeleted)
        return result

    # --- users ---------------------------------------------------------------------------------------------

    async def get_profile(
        self,
        identifier: str,
        account_id: str,
        *,
        sections: list[str] | str | None = None,
        notify: bool | None = None,
    ) -> UserProfile:
        """Profile by provider id (`ACoAA…`) or public identifier (the /in/<slug>). Counts as a visit."""
        params: dict[str, Any] = {"account_id": account_id, "linkedin_sections": sections, "notify": notify}
        result: UserProfile = await self._get(f"/users/{seg(identifier)}", UserProfile, params)
        return result

    async def get_own_profile(self, account_id: str) -> AccountOwnerProfile:
        result: AccountOwnerProfile = await self._get(
            "/users/me", AccountOwnerProfile, {"account_id": account_id}
        )
        return result

    async def list_relations(
        self,
        account_id: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        filter: str | None = None,
    ) -> tuple[list[UserRelation], str | None]:
        params = {"account_id": account_id, "filter": filter, **page_params(limit, cursor, max_limit=1000)}
        page: ListPage[UserRelation] = await self._get("/users/relations", ListPage[UserRelation], params)
        return page.items, page.cursor

    def iter_relations(
        self, account_id: str, *, limit: int = 100, filter: str | None = None
    ) -> AsyncIterator[UserRelation]:
        return iterate_items(
            lambda cursor: self.list_relations(account_id, limit=limit, cursor=cursor, filter=filter)
        )

    # --- invitations ---------------------------------------------------------------------------------------

    async def send_invitation(
        self,
        provider_id: str,
        account_id: str,
        message: str | None = None,
        *,
        user_email: str | None = None,
    ) -> UserInvitationSent:
        """Invite a member to connect. The note is capped at 300 characters, checked before sending."""
        body = build_request(
            InviteRequest,
            provider_id=provider_id,
            account_id=account_id,
            message=message or None,
            user_email=user_email,
        ).body()
        result: UserInvitationSent = await self._send("POST", "/users/invite", UserInvitationSent, json=body)
        return result

    async def list_sent_invitations(
        self, account_id: str, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[SentInvitation], str | None]:
        params = {"account_id": account_id, **page_params(limit, cursor, max_limit=100)}
        page: ListPage[SentInvitation] = await self._get(
            "/users/invite/sent", ListPage[SentInvitation], params
        )
        return page.items, page.cursor

    def iter_sent_invitations(self, account_id: str, *, limit: int = 100) -> AsyncIterator[SentInvitation]:
        return iterate_items(
            lambda cursor: self.list_sent_invitations(account_id, limit=limit, cursor=cursor)
        )

    async def cancel_invitation(self, invitation_id: str, account_id: str) -> InvitationCanceled:
        result: InvitationCanceled = await self._send(
            "DELETE",
            f"/users/invite/sent/{seg(invitation_id)}",
            InvitationCanceled,
            params={"account_id": account_id},
        )
        return result
