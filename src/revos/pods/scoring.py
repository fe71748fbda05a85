"""Outcomes of pod activities, counted on their member, and the participation score.

Every settled activity adds to the member's lifetime counters: `total_engagements` (completed) and
`missed_engagements` (missed: the window closed first — an account paused or out of budget, a comment
not approved in time, in manual mode an engagement never seen on the post). Skips decided by revOS
before anything was due (no free time in the window, a comment that failed its checks, a member or pod
paused, a comment rejected by a person) are not missed.

    participation_score = completed / (completed + missed)

over the member's activities whose window ended in the last `participation_window_days` (default 30);
1.00 with none. A member with at least `participation_min_activities` such activities and a score
below `participation_pause_below` (default 0.40) is paused, with the reason in `status_reason`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from revos.db.pool import Conn
from revos.pods import execution_repo, service
from revos.pods.schemas import PodSettings


async def settle(
    conn: Conn, activity_id: UUID, *, status: str, error: str | None, missed: bool, now: datetime
) -> bool:
    """Settle a pending activity (completed, failed or skipped) and rescore its member. False when it
    was settled already."""
    row = await execution_repo.finish(conn, activity_id, status=status, error=error, missed=missed, now=now)
    if row is None:
        return False
    if status == "completed" and not missed and row["participation_score"] == 1:
        # Every miss is rescored when it is settled (here or after a lapse), so a stored 1.00 means no
        # miss in the window; time only drops activities out of it: a completion keeps 1.00, no pause.
        return True
    await rescore(conn, row["member_id"], row["pod_id"], now)
    return True


async def rescore(conn: Conn, member_id: UUID, pod_id: UUID, now: datetime) -> None:
    settings = PodSettings.of_row(await execution_repo.pod_settings(conn, pod_id))
    since = now - timedelta(days=settings.participation_window_days)
    member = await execution_repo.rescore(conn, member_id, since)
    if member is None or member["status"] != "active":
        return
    score = float(member["participation_score"])
    if (
        member["settled"] >= settings.participation_min_activities
        and score < settings.participation_pause_below
    ):
        reason = (
            f"participation {score:.2f} below {settings.participation_pause_below:.2f} over the last"
            f" {settings.participation_window_days} days ({member['settled']} engagements due)"
        )
        await service.set_member_status(conn, member_id, "paused", reason, now=now)


async def complete_many(
    conn: Conn, activity_ids: list[UUID], now: datetime, actions: dict[UUID, UUID] | None = None
) -> int:
    """`settle` as completed for many activities, in one statement (each member counted once), linking
    those of `actions` (activity id → ledger action id) to their action; members whose stored score is
    below 1.00 are rescored. Returns how many were still pending."""
    rows = await execution_repo.complete_many(conn, activity_ids, now, actions)
    rescored = {(r["member_id"], r["pod_id"]) for r in rows if r["participation_score"] != 1}
    for member_id, pod_id in rescored:
        await rescore(conn, member_id, pod_id, now)
    return len(rows)
