"""One entry point for completions: the client's provider, its monthly token budget, retries and cost.

    completion = await ai.service.complete(runtime, runtime.db, client_id=..., request=CompletionRequest(...))

`db` is a Database (each bookkeeping step runs in its own short service transaction, and the provider is
called outside any transaction: the usage of a call is recorded even when the caller's work rolls back)
or an open connection (bookkeeping runs in savepoints of the caller's transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import accumulate
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from revos.ai import client_settings, prices, repo
from revos.ai.base import (
    AiBudgetExceeded,
    AiError,
    Completion,
    CompletionProvider,
    CompletionRequest,
    estimate_tokens,
)
from revos.ai.client_settings import EffectiveAi
from revos.ai.offline import OfflineProvider
from revos.ai.remote import PROVIDERS, Endpoint, mask
from revos.clock import utcnow
from revos.db.pool import Conn, Database
from revos.errors import RevosError, ValidationFailed
from revos.runtime import Runtime

log = logging.getLogger("revos.ai")

MAX_PROMPT_CHARS = 200_000
MAX_VARIANTS = 10
MAX_OUTPUT_TOKENS = 32_000


def month_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


def next_month(month: date) -> date:
    return (
        month.replace(year=month.year + 1, month=1)
        if month.month == 12
        else month.replace(month=month.month + 1)
    )


def provider_for(runtime: Runtime, ai: EffectiveAi) -> CompletionProvider:
    """The provider object for resolved settings (the key travels inside it only for the call)."""
    if ai.provider == "offline":
        return OfflineProvider(ai.model)
    s = runtime.settings
    endpoint = Endpoint(
        provider=ai.provider,
        model=ai.model,
        base_url=ai.base_url,
        api_key=ai.api_key,
        timeout=s.ai_timeout_seconds,
        retries=s.ai_retries,
        retry_base=s.ai_retry_base_seconds,
        retry_max=s.ai_retry_max_seconds,
    )
    return PROVIDERS[ai.provider](endpoint, prices.table(s.ai_prices))


def estimate(request: CompletionRequest) -> int:
    """Tokens a call may use at most: its input, plus max_tokens for each variant."""
    return (
        estimate_tokens(request.system)
        + estimate_tokens(request.prompt)
        + request.max_tokens * request.variants
    )


def validate(request: CompletionRequest) -> None:
    if len(request.system) + len(request.prompt) > MAX_PROMPT_CHARS:
        raise ValidationFailed(
            f"the prompt is too long: at most {MAX_PROMPT_CHARS} characters (system + prompt)"
        )
    if not 1 <= request.variants <= MAX_VARIANTS:
        raise ValidationFailed(f"variants must be between 1 and {MAX_VARIANTS}")
    if not 1 <= request.max_tokens <= MAX_OUTPUT_TOKENS:
        raise ValidationFailed(f"max_tokens must be between 1 and {MAX_OUTPUT_TOKENS}")


@contextlib.asynccontextmanager
async def _tx(db: Database | Conn) -> AsyncIterator[Conn]:
    if isinstance(db, AsyncConnection):
        async with db.transaction():
            yield db
    else:
        async with db.service(actor="ai") as conn:
            yield conn


def _refusal(ai: EffectiveAi, month: date, used: int, reserved: int, tokens: int) -> AiBudgetExceeded:
    limit = ai.monthly_token_budget
    resets = next_month(month)
    whose = "this client's" if ai.budget_source == "client" else "the deployment's default"
    return AiBudgetExceeded(
        f"AI token budget exceeded: {whose} monthly budget is {limit:,} tokens and {used:,} are used"
        f" in {month:%Y-%m}" + (f" ({reserved:,} more held by calls in progress)" if reserved else "")
        + f"; this call needs up to {tokens:,}. It resets on {resets.isoformat()} 00:00 UTC,"
        " or raise monthly_token_budget with PUT /v1/ai/settings.",
        detail={"budget": ai.budget_source, "month": f"{month:%Y-%m}", "used": used, "reserved": reserved,
                "limit": limit, "needed": tokens, "resets_at": f"{resets.isoformat()}T00:00:00Z"},
    )  # fmt: skip


async def _reserve(conn: Conn, ai: EffectiveAi, *, client_id: UUID, month: date, tokens: int) -> int:
    """Check the budget and hold `tokens` of it for the call; 0 held when the budget is unlimited."""
    if ai.monthly_token_budget <= 0:
        return 0
    await repo.lock_month(conn, client_id, month)
    used, reserved = await repo.month_totals(conn, client_id, month)
    limit = ai.monthly_token_budget
    if used + reserved + tokens > limit:
        raise _refusal(ai, month, used, reserved, tokens)
    await repo.reserve(
        conn, client_id=client_id, month=month, provider=ai.provider, model=ai.model, tokens=tokens
    )
    return tokens


async def _call(
    provider: CompletionProvider, ai: EffectiveAi, request: CompletionRequest
) -> Completion | AiError:
    """The provider's answer, or the error to give the caller (never a provider's raw text)."""
    try:
        return await provider.complete(request)
    except AiError as exc:
        return exc
    except Exception as exc:  # an SDK's surprise: its text goes to the log masked, never to the caller
        log.warning(
            "AI provider %s raised %s: %s", ai.provider, type(exc).__name__, mask(str(exc), ai.api_key)
        )
        return AiError(
            f"{ai.provider} ({ai.model}) failed: {type(exc).__name__}", detail={"provider": ai.provider}
        )


async def complete(
    runtime: Runtime, db: Database | Conn | None = None, *, client_id: UUID, request: CompletionRequest
) -> Completion:
    """Run `request` with the client's provider (its settings, else the deployment's; default offline).

    Raises AiBudgetExceeded (nothing is called) when the call could pass the client's monthly token
    budget, AiError when the provider fails after its retries, ValidationFailed for an oversized request.
    """
    validate(request)
    db = db if db is not None else runtime.db
    month = month_of(utcnow())
    async with _tx(db) as conn:
        ai = await client_settings.effective(runtime, conn, client_id)
        held = await _reserve(conn, ai, client_id=client_id, month=month, tokens=estimate(request))
    outcome = await _call(provider_for(runtime, ai), ai, request)
    completion = outcome if isinstance(outcome, Completion) else None
    failure = outcome if isinstance(outcome, AiError) else None
    async with _tx(db) as conn:
        await repo.settle(
            conn, client_id=client_id, month=month, provider=ai.provider, model=ai.model, reserved=held,
            tokens_in=completion.tokens_in if completion else 0,
            tokens_out=completion.tokens_out if completion else 0,
            cost_usd=completion.cost_usd if completion else 0.0,
            calls=1 if completion else 0, failures=0 if completion else 1,
        )  # fmt: skip
    if completion is None:
        failure = failure or AiError(f"{ai.provider} ({ai.model}) gave no answer")
        log.warning("AI call failed for client %s: %s", client_id, failure.message)
        raise failure
    return completion


async def complete_many(
    runtime: Runtime,
    db: Database | Conn | None = None,
    *,
    client_id: UUID,
    requests: Sequence[CompletionRequest],
    at_once: int = 8,
) -> list[Completion | AiError | AiBudgetExceeded]:
    """`complete` for many requests of one client, with one budget check and one usage record for all.

    The budget holds for the requests in order as long as they fit (each reserved as `complete` would);
    the first that does not fit and every later one are refused (AiBudgetExceeded in its place, nothing
    called). The provider is asked up to `at_once` at a time, outside any transaction. Returns, per
    request in order, its Completion or its error (validation errors are raised before anything)."""
    answers = await complete_for_clients(runtime, db, groups={client_id: requests}, at_once=at_once)
    answer = answers[client_id]
    if isinstance(answer, RevosError):
        raise answer
    return answer


@dataclass
class _Batch:
    """One client's part of `complete_for_clients`."""

    requests: list[CompletionRequest]
    ai: EffectiveAi | None = None
    admitted: int = 0
    held: int = 0
    refusal: AiBudgetExceeded | None = None
    results: list[Completion | AiError | AiBudgetExceeded] = field(default_factory=list)


async def complete_for_clients(
    runtime: Runtime,
    db: Database | Conn | None = None,
    *,
    groups: Mapping[UUID, Sequence[CompletionRequest]],
    at_once: int = 8,
) -> dict[UUID, list[Completion | AiError | AiBudgetExceeded] | RevosError]:
    """`complete_many` for several clients at once (the pod executor's comments of a round): every
    client's settings and budget in one transaction (clients in id order), the calls up to `at_once` at
    a time across clients, then every client's usage in one more transaction. Per client, its answers as
    `complete_many` gives them, or the error that kept it from asking (its settings could not be read),
    without holding up the others. Validation errors are raised before anything."""
    for requests in groups.values():
        for request in requests:
            validate(request)
    db = db if db is not None else runtime.db
    month = month_of(utcnow())
    out: dict[UUID, list[Completion | AiError | AiBudgetExceeded] | RevosError] = {
        client_id: [] for client_id, requests in groups.items() if not requests
    }
    batches = {c: _Batch(list(r)) for c, r in sorted(groups.items(), key=lambda g: str(g[0])) if r}
    if not batches:
        return out
    async with _tx(db) as conn:
        for client_id, batch in batches.items():
            try:
                batch.ai = ai = await client_settings.effective(runtime, conn, client_id)
            except RevosError as exc:
                out[client_id] = exc
                continue
            needs = [estimate(r) for r in batch.requests]
            batch.admitted = len(needs)
            if ai.monthly_token_budget > 0:
                await repo.lock_month(conn, client_id, month)
                used, reserved = await repo.month_totals(conn, client_id, month)
                room = ai.monthly_token_budget - used - reserved
                batch.admitted = next((i for i, t in enumerate(accumulate(needs)) if t > room), len(needs))
                if batch.admitted < len(needs):
                    held = reserved + sum(needs[: batch.admitted])
                    batch.refusal = _refusal(ai, month, used, held, needs[batch.admitted])
                batch.held = sum(needs[: batch.admitted])
                if batch.admitted:
                    await repo.reserve(
                        conn, client_id=client_id, month=month, provider=ai.provider, model=ai.model,
                        tokens=batch.held,
                    )  # fmt: skip
    asked = {c: b for c, b in batches.items() if b.ai is not None and b.admitted}
    gate = asyncio.Semaphore(max(at_once, 1))

    async def one(provider: CompletionProvider, ai: EffectiveAi, request: CompletionRequest) -> Any:
        async with gate:
            return await _call(provider, ai, request)

    async def ask(batch: _Batch) -> None:
        assert batch.ai is not None
        provider = provider_for(runtime, batch.ai)
        batch.results = list(
            await asyncio.gather(*(one(provider, batch.ai, r) for r in batch.requests[: batch.admitted]))
        )

    await asyncio.gather(*(ask(b) for b in asked.values()))
    if asked:
        async with _tx(db) as conn:
            for client_id, batch in asked.items():
                assert batch.ai is not None
                done = [r for r in batch.results if isinstance(r, Completion)]
                await repo.settle(
                    conn, client_id=client_id, month=month, provider=batch.ai.provider, model=batch.ai.model,
                    reserved=batch.held, tokens_in=sum(c.tokens_in for c in done),
                    tokens_out=sum(c.tokens_out for c in done), cost_usd=sum(c.cost_usd for c in done),
                    calls=len(done), failures=len(batch.results) - len(done),
                )  # fmt: skip
                for r in batch.results:
                    if isinstance(r, AiError):
                        log.warning("AI call failed for client %s: %s", client_id, r.message)
    for client_id, batch in batches.items():
        if client_id in out:
            continue
        refused = [batch.refusal] * (len(batch.requests) - batch.admitted) if batch.refusal else []
        out[client_id] = [*batch.results, *refused]
    return out


async def usage(
    runtime: Runtime, conn: Conn, *, client_id: UUID, month: date | None = None
) -> dict[str, Any]:
    """The client's usage of `month` (default: this one) per provider and model, with its budget."""
    month = month or month_of(utcnow())
    rows = await repo.usage_of_month(conn, client_id, month)
    ai = client_settings.resolve(runtime.settings, await repo.settings_of(conn, client_id), None)
    items = [_line(r) for r in rows]
    totals = _line(
        {k: sum(i[k] for i in items) for k in ("calls", "failures", "tokens_in", "tokens_out", "cost_usd")}
    )
    used, reserved = totals["tokens"], sum(int(r["reserved"]) for r in rows)
    limit = ai.monthly_token_budget
    return {
        "client_id": client_id,
        "month": f"{month:%Y-%m}",
        "resets_at": datetime.combine(next_month(month), datetime.min.time(), UTC),
        "budget": {
            "limit": limit,
            "source": ai.budget_source,
            "used": used,
            "reserved": reserved,
            "remaining": max(limit - used - reserved, 0) if limit else None,
        },
        "totals": totals,
        "items": items,
    }


def _line(row: Mapping[str, Any]) -> dict[str, Any]:
    line = {k: row[k] for k in ("provider", "model") if k in row}
    line |= {k: int(row[k]) for k in ("calls", "failures", "tokens_in", "tokens_out")}
    return line | {
        "tokens": line["tokens_in"] + line["tokens_out"],
        "cost_usd": round(float(row["cost_usd"]), 6),
    }
