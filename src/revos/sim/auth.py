"""Connecting LinkedIn accounts: credentials or cookie, checkpoints (2FA, OTP, in-app, CAPTCHA, phone),
the ~5-minute authentication intent (spec §4.2), reconnects and out-of-band in-app approval."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from revos.sim.errors import SimError, invalid, missing
from revos.sim.models import Account, Intent, Login
from revos.sim.world import World

INTENT_TTL = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=30)
CHECKPOINTS = ("2FA", "OTP", "IN_APP_VALIDATION", "CAPTCHA", "PHONE_REGISTER")
_PHONE = re.compile(r"^\(\+\d{1,4}\)\d{6,14}$")

Reply = tuple[int, dict[str, Any]]


class Auth:
    def __init__(self, world: World) -> None:
        self.world = world
        self.intents: dict[str, Intent] = {}

    # ---- entry points ---------------------------------------------------------------------
    def connect(self, body: dict[str, Any], reconnect: Account | None = None) -> Reply:
        if body.get("provider") != "LINKEDIN":
            raise invalid("provider must be LINKEDIN")
        login = self._login_for(body)
        if reconnect is not None:
            if login is not reconnect.login:
                raise SimError(401, "wrong_account", "These credentials belong to another LinkedIn account")
            account_id = reconnect.id
        elif login.account_id and login.account_id in self.world.accounts:
            # Connecting the same LinkedIn login again refreshes the existing account.
            account_id = login.account_id
        else:
            account_id = self.world.ids.unipile()
        cookie = "access_token" in body and "password" not in body
        pending = [] if cookie else list(login.checkpoints)
        intent = Intent(account_id, login, pending, self.world.now(), reconnect is not None)
        if not pending:
            return self._complete(intent)
        self.intents[account_id] = intent
        return 202, self._checkpoint(intent)

    def solve(self, body: dict[str, Any]) -> Reply:
        for name in ("provider", "account_id", "code"):
            if not body.get(name):
                raise missing(name)
        intent = self.intents.get(str(body["account_id"]))
        if intent is None or intent.state == "done":
            raise SimError(404, "resource_not_found", "No authentication in progress for this account")
        self._check_alive(intent)
        code = str(body["code"])
        current = intent.pending[0]
        if code == "TRY_ANOTHER_WAY" and current in ("IN_APP_VALIDATION", "2FA"):
            intent.pending[0] = "OTP"
            return 202, self._checkpoint(intent)
        if current == "CAPTCHA":
            raise SimError(401, "captcha_not_supported", "The captcha could not be solved by our services")
        if current == "IN_APP_VALIDATION":
            raise SimError(401, "checkpoint_error", "Waiting for the sign-in to be approved in the app")
        ok = _PHONE.match(code) if current == "PHONE_REGISTER" else code == intent.login.code
        if not ok:
            raise SimError(401, "invalid_checkpoint_solution", "The checkpoint solution is invalid")
        return self._advance(intent)

    def resend(self, body: dict[str, Any]) -> Reply:
        intent = self.intents.get(str(body.get("account_id") or ""))
        if intent is None or intent.state == "done":
            raise SimError(404, "resource_not_found", "No authentication in progress for this account")
        self._check_alive(intent)
        now = self.world.now()
        if intent.last_resend and now - intent.last_resend < RESEND_AFTER:
            raise SimError(422, "cannot_resend_yet", "Please wait before asking for a new code")
        intent.last_resend = now
        return 200, {"object": "CheckpointResend", "account_id": intent.account_id, "success": True}

    def approve_in_app(self, account_id: str) -> Reply:
        """The member taps 'Yes, it's me' in the LinkedIn app: resolves an IN_APP_VALIDATION step."""
        intent = self.intents.get(account_id)
        if intent is None or intent.state != "pending" or intent.pending[:1] != ["IN_APP_VALIDATION"]:
            raise ValueError(f"no in-app validation pending for {account_id}")
        self._check_alive(intent)
        return self._advance(intent)

    # ---- internals ------------------------------------------------------------------------
    def _login_for(self, body: dict[str, Any]) -> Login:
        if body.get("access_token"):
            login = next((x for x in self.world.logins if x.access_token == body["access_token"]), None)
        elif body.get("username") and body.get("password") is not None:
            login = next((x for x in self.world.logins if x.username == body["username"]), None)
            if login is not None and login.password != body["password"]:
                login = None
        else:
            raise missing("username/password or access_token")
        if login is None:
            raise SimError(401, "invalid_credentials", "The provided credentials are invalid")
        return login

    def _check_alive(self, intent: Intent) -> None:
        if intent.state == "expired":
            raise SimError(400, "invalid_request", "The authentication intent has expired; start over")
        if self.world.now() - intent.created_at > INTENT_TTL:
            intent.state = "expired"
            raise SimError(408, "request_timeout", "The authentication intent timed out")

    def _advance(self, intent: Intent) -> Reply:
        intent.pending.pop(0)
        if intent.pending:
            intent.created_at = self.world.now()  # each step gets its own window
            return 202, self._checkpoint(intent)
        intent.state = "done"
        return self._complete(intent)

    def _checkpoint(self, intent: Intent) -> dict[str, Any]:
        kind = intent.pending[0]
        checkpoint: dict[str, Any] = {"type": kind}
        if kind == "2FA":
            checkpoint["source"] = "SMS"
        elif kind == "CAPTCHA":
            checkpoint.update(public_key="3117BF26-4762-4F5A-8ED9-A85E69209A46", data="sim-arkose-blob")
        return {"object": "Checkpoint", "account_id": intent.account_id, "checkpoint": checkpoint}

    def _complete(self, intent: Intent) -> Reply:
        world = self.world
        existing = world.accounts.get(intent.account_id)
        if existing is not None:
            world.set_status(existing, "OK", "RECONNECTED" if intent.reconnect else "OK")
            obj = "AccountReconnected" if intent.reconnect else "AccountCreated"
            return 201, {"object": obj, "account_id": existing.id}
        with world.lock:
            account = Account(intent.account_id, intent.login, world.now(), world.ids.unipile())
            world.accounts[account.id] = account
            intent.login.account_id = account.id
        world.emit("account_status", account.id, message="CREATION_SUCCESS")
        world.emit("account_status", account.id, message="OK")
        return 201, {"object": "AccountCreated", "account_id": account.id}
