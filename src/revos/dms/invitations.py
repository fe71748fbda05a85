"""The polling fallback for accepted invitations: the account's connections, read from LinkedIn
(the `new_relation` webhook can lag by hours)."""

from __future__ import annotations

import logging
from uuid import UUID

from revos.accounts import safety
from revos.accounts.provider import linkedin_client
from revos.clock import utcnow
from revos.leads import sequence_repo
from revos.leads.lifecycle import conversation
from revos.linkedin.errors import UnipileError
from revos.runtime import Runtime

log = logging.getLogger("revos.dms")
MAX_SCANNED = 2000  # connections read per check, newest first


async def check_invitations(runtime: Runtime, linkedin_account_id: UUID) -> int:
    """Accepted invitations found among the account's connections. Returns how many."""
    async with runtime.db.service(actor="dms") as conn:
        waiting = await sequence_repo.awaiting_acceptance(conn, linkedin_account_id)
        unipile_account_id = await sequence_repo.unipile_account_of(conn, linkedin_account_id)
    if not waiting or not unipile_account_id:
        return 0
    wanted = {row["linkedin_id"]: row["id"] for row in waiting}
    found: list[UUID] = []
    scanned = 0
    try:
        async for relation in linkedin_client(runtime).iter_relations(unipile_account_id, limit=200):
            scanned += 1
            if relation.member_id in wanted:
                found.append(wanted[relation.member_id])
            if scanned >= MAX_SCANNED or len(found) == len(wanted):
                break
    except UnipileError as exc:
        log.warning("relations of account %s could not be read: %s", linkedin_account_id, exc)
        if safety.is_account_error(exc):
            async with runtime.db.service(actor="dms") as conn:
                await safety.apply_provider_error(conn, linkedin_account_id, exc, utcnow(), runtime.settings)
        return 0
    for sequence_id in found:
        async with runtime.db.service(actor="dms") as conn:
            await conversation.invitation_accepted(
                runtime, conn, sequence_id, how="found in the account's connections"
            )
    return len(found)
