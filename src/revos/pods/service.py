"""Pods and their members: the rules of /v1/pods, in the caller's transaction.

A pod is `active` only with at least `min_members` active members: activating one with fewer is a 409
saying how many it has. When an active pod falls below that (a member removed, paused by a person or
for low participation), it is paused with the reason in `status_reason`, and nothing new is scheduled.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, ValidationFailed
from revos.pods import repo, schemas
from revos.pods.schemas import PodSettings


def view_pod(row: dict[str, Any]) -> schemas.Pod:
    return schemas.Pod.model_validate({**row, "settings": row["settings"] or {}})


def view_member(row: dict[str, Any]) -> schemas.Member:
    return schemas.Member.model_validate({**row, "participation_score": float(row["participation_score"])})


def view_activity(row: dict[str, Any]) -> schemas.Activity:
    return schemas.Activity.model_validate(row)


async def get_pod(conn: Conn, pod_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get_pod(conn, pod_id, for_update=for_update)
    if row is None:
        raise NotFound("pod not found")
    return row


def _check_windows(values: dict[str, Any]) -> None:
    settings = PodSettings.parse(values.get("settings"))
    like, comment = values["engagement_window_minutes"], values["comment_window_minutes"]
    if settings.min_delay_seconds >= min(like, comment) * 60:
        raise ValidationFailed(
            f"settings.min_delay_seconds ({settings.min_delay_seconds}) must be shorter than the like and"
            f" comment windows ({like} and {comment} minutes)"
        )


def _too_few(pod: dict[str, Any], active: int) -> Conflict:
    return Conflict(
        f"a pod needs at least {pod['min_members']} active members to be active; this one has {active}:"
        " add members (POST /v1/pods/{id}/members) first",
        detail={"min_members": pod["min_members"], "active_members": active},
    )


async def create_pod(conn: Conn, *, client_id: UUID, body: schemas.PodCreate) -> dict[str, Any]:
    values = body.model_dump(exclude={"client_id"})
    _check_windows(values)
    if values["status"] == "active":
        raise _too_few({"min_members": values["min_members"]}, 0)
    return await repo.insert_pod(conn, {**values, "client_id": client_id})


async def update_pod(conn: Conn, pod_id: UUID, body: schemas.PodUpdate) -> dict[str, Any]:
    pod = await get_pod(conn, pod_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    for key in ("name", "min_members", "auto_engage", "engagement_window_minutes", "comment_window_minutes"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key} cannot be null")
    merged = {**pod, **changes, "settings": changes.get("settings") or pod["settings"] or {}}
    _check_windows(merged)
    if merged["status"] == "active" and pod["active_members"] < merged["min_members"]:
        raise _too_few(merged, pod["active_members"])
    if changes.get("status") is not None:
        changes["status_reason"] = None
    if "settings" in changes and changes["settings"] is None:
        changes["settings"] = {}
    row = await repo.update_pod(conn, pod_id, changes)
    assert row is not None
    return row


async def delete_pod(conn: Conn, pod_id: UUID) -> None:
    if not await repo.delete_pod(conn, pod_id):
        raise NotFound("pod not found")


# --- members --------------------------------------------------------------------------------------------


async def _check_account(conn: Conn, pod: dict[str, Any], user_id: UUID, account_id: UUID) -> None:
    account = await repo.account(conn, account_id)
    if account is None or account["client_id"] != pod["client_id"]:
        raise ValidationFailed("linkedin_account_id: no such LinkedIn account in this pod's client")
    if account["user_id"] is not None and account["user_id"] != user_id:
        raise ValidationFailed("linkedin_account_id: this LinkedIn account belongs to another user")


async def add_member(conn: Conn, pod_id: UUID, body: schemas.MemberCreate) -> dict[str, Any]:
    pod = await get_pod(conn, pod_id, for_update=True)
    user = await repo.user(conn, body.user_id)
    if user is None or user["client_id"] != pod["client_id"]:
        raise ValidationFailed("user_id: no such user in this pod's client")
    await _check_account(conn, pod, body.user_id, body.linkedin_account_id)
    for other in await repo.members(conn, pod_id):
        if other["user_id"] == body.user_id or other["linkedin_account_id"] == body.linkedin_account_id:
            raise Conflict(
                "this user or LinkedIn account is already a member of the pod"
                f" (member {other['id']}, {other['status']}): PATCH it instead",
                detail={"member_id": str(other["id"])},
            )
    return await repo.insert_member(
        conn,
        {
            "client_id": pod["client_id"],
            "pod_id": pod_id,
            "user_id": body.user_id,
            "linkedin_account_id": body.linkedin_account_id,
            "role": body.role,
        },
    )


async def get_member(conn: Conn, pod_id: UUID, member_id: UUID) -> dict[str, Any]:
    row = await repo.get_member(conn, member_id)
    if row is None or row["pod_id"] != pod_id:
        raise NotFound("pod member not found")
    return row


async def update_member(
    conn: Conn, pod_id: UUID, member_id: UUID, body: schemas.MemberUpdate
) -> dict[str, Any]:
    pod = await get_pod(conn, pod_id, for_update=True)
    member = await get_member(conn, pod_id, member_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "linkedin_account_id" in changes:
        await _check_account(conn, pod, member["user_id"], changes["linkedin_account_id"])
    if "status" in changes and changes["status"] != member["status"]:
        changes["status_reason"] = None
        changes["paused_at"] = None
    row = await repo.update_member(conn, member_id, changes)
    assert row is not None
    await keep_pod_viable(conn, pod_id)
    return row


async def set_member_status(
    conn: Conn, member_id: UUID, status: str, reason: str | None, *, now: Any = None
) -> dict[str, Any] | None:
    """A member paused (or removed) by revOS, with the reason; the pod is paused if it falls short."""
    row = await repo.update_member(
        conn, member_id, {"status": status, "status_reason": reason, "paused_at": now}
    )
    if row is not None:
        await keep_pod_viable(conn, row["pod_id"])
    return row


async def keep_pod_viable(conn: Conn, pod_id: UUID) -> None:
    pod = await get_pod(conn, pod_id)
    if pod["status"] == "active" and pod["active_members"] < pod["min_members"]:
        await repo.update_pod(
            conn,
            pod_id,
            {
                "status": "paused",
                "status_reason": f"fewer than {pod['min_members']} active members"
                f" ({pod['active_members']}): paused until members are added",
            },
        )


async def member_of_user(conn: Conn, pod_id: UUID, user_id: UUID | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return next((m for m in await repo.members(conn, pod_id) if m["user_id"] == user_id), None)
