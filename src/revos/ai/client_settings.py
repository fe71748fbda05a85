"""A client's AI settings over the deployment's: which provider, model, endpoint, key and monthly budget.

Each column of `ai_settings` left null falls back to the deployment's REVOS_AI_* value. The client's API
key is sealed with the vault for its row (like the LinkedIn login) and only ever leaves the database to
be sent to the provider. The deployment's key is sent only to the deployment's own provider and endpoint:
a client that names another provider or base URL brings its own key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from revos.ai import repo
from revos.ai.offline import OFFLINE_MODEL
from revos.ai.remote import DEFAULT_MODELS
from revos.config import Settings
from revos.db.pool import Conn
from revos.errors import ValidationFailed
from revos.runtime import Runtime
from revos.security import ssrf

_REPLACED = ("provider", "model", "base_url", "monthly_token_budget")


@dataclass(frozen=True)
class EffectiveAi:
    """What a client's AI calls use, resolved."""

    provider: str
    model: str
    base_url: str | None
    monthly_token_budget: int  # 0 = unlimited
    budget_source: str  # "client" | "deployment"
    api_key_set: bool
    api_key: str | None = field(default=None, repr=False)


def _default_model(provider: str, settings: Settings, same_provider: bool) -> str:
    if provider == "offline":
        return OFFLINE_MODEL
    if same_provider and settings.ai_model:
        return settings.ai_model
    return DEFAULT_MODELS[provider]


def resolve(settings: Settings, row: dict[str, Any] | None, client_key: str | None) -> EffectiveAi:
    row = row or {}
    provider = row.get("provider") or settings.ai_provider
    same_provider = provider == settings.ai_provider
    base_url = row.get("base_url") or (settings.ai_base_url if same_provider else None)
    own_endpoint = same_provider and base_url == settings.ai_base_url
    key = client_key
    if key is None and own_endpoint and settings.ai_api_key is not None:
        key = settings.ai_api_key.get_secret_value()
    budget = row.get("monthly_token_budget")
    return EffectiveAi(
        provider=provider,
        model=row.get("model") or _default_model(provider, settings, same_provider),
        base_url=base_url,
        monthly_token_budget=int(budget if budget is not None else settings.ai_monthly_token_budget),
        budget_source="client" if budget is not None else "deployment",
        api_key_set=key is not None,
        api_key=key,
    )


async def _open_key(runtime: Runtime, conn: Conn, row: dict[str, Any]) -> str | None:
    if row.get("api_key") is None:
        return None
    return await runtime.vault.decrypt_text(
        conn,
        client_id=row["client_id"],
        table=repo.SETTINGS_TABLE,
        column="api_key",
        row_id=row["id"],
        ciphertext=bytes(row["api_key"]),
    )


async def effective(runtime: Runtime, conn: Conn, client_id: UUID) -> EffectiveAi:
    """The client's resolved AI settings, its key opened (for a call; never to show)."""
    row = await repo.settings_of(conn, client_id)
    return resolve(runtime.settings, row, await _open_key(runtime, conn, row) if row else None)


async def check_base_url(settings: Settings, url: str) -> str:
    """A client's base URL is a URL a tenant chose: public https only, like webhook endpoints (plain http
    to loopback in development and tests when REVOS_AI_ALLOW_HTTP_LOOPBACK is set)."""
    loopback = settings.ai_allow_http_loopback and not settings.is_production
    target = await ssrf.check_url(url, allow_http_loopback=loopback)
    return target.url


async def update(runtime: Runtime, conn: Conn, client_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply `changes` (provider, model, base_url, monthly_token_budget: replaced, null = deployment's;
    api_key: set, or removed when None; left out, kept while the provider and base URL stay the same)
    and return the row."""
    row = await repo.lock_settings(conn, client_id)
    values: dict[str, Any] = {k: changes[k] for k in _REPLACED if k in changes}
    if values.get("provider") == "offline" and (values.get("base_url") or changes.get("api_key")):
        raise ValidationFailed("the offline provider takes no base_url and no api_key")
    if values.get("base_url"):
        values["base_url"] = await check_base_url(runtime.settings, values["base_url"])
    before = resolve(runtime.settings, row, None)
    after = resolve(runtime.settings, {**row, **values}, None)
    if (before.provider, before.base_url) != (after.provider, after.base_url) and "api_key" not in changes:
        # A stored key only ever goes where it was given for: a new endpoint needs the key again, so a
        # caller who may change the settings cannot send the stored key to a server of their own.
        changes = {**changes, "api_key": None}
    if "api_key" in changes:
        key = changes["api_key"]
        values["api_key"] = None
        if key is not None:
            values["api_key"] = await runtime.vault.encrypt(
                conn,
                client_id=client_id,
                table=repo.SETTINGS_TABLE,
                column="api_key",
                row_id=row["id"],
                value=key,
            )
    return await repo.update_settings(conn, row["id"], values) if values else row


def view(settings: Settings, row: dict[str, Any] | None, client_id: UUID) -> dict[str, Any]:
    """The settings as the API shows them: whether a key is set, never the key."""
    row = row or {}
    eff = resolve(settings, row, "set" if row.get("api_key") is not None else None)
    return {
        "client_id": client_id,
        "provider": row.get("provider"),
        "model": row.get("model"),
        "base_url": row.get("base_url"),
        "api_key_set": row.get("api_key") is not None,
        "monthly_token_budget": row.get("monthly_token_budget"),
        "updated_at": row.get("updated_at"),
        "effective": {
            "provider": eff.provider,
            "model": eff.model,
            "base_url": eff.base_url,
            "api_key_set": eff.api_key_set,
            "monthly_token_budget": eff.monthly_token_budget,
            "budget_source": eff.budget_source,
        },
    }
