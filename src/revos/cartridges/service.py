"""Voice cartridges: tier rules, inheritance checks, edits and their versions. Never commits.

Tiers: `system` (shared by every client, written by operators only), `workspace` (the client's own
voice), `user` (a user of the client), `skill` (one skill's variant, of the client or of a user). A
cartridge inherits from its parent (`parent_cartridge_id`): a system cartridge or one of its own client,
of the same or an earlier tier (system → workspace → user → skill), never forming a cycle. At most one
active cartridge per client, tier, user and skill. Every change is kept as a version by the database
(`cartridge_versions`). Skills write with `resolve` / `resolve_for` (revos.cartridges.resolution).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from revos.cartridges import repo, schemas
from revos.cartridges.resolution import Resolved, merge, resolve, resolve_for
from revos.db.pool import Conn
from revos.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "Resolved",
    "create",
    "delete",
    "get",
    "merge",
    "prepare",
    "resolve",
    "resolve_for",
    "resolved_view",
    "update",
    "version_view",
    "view",
]

TIER_ORDER = ("system", "workspace", "user", "skill")


def invalid(field: str, message: str) -> ValidationFailed:
    """A 422 naming the field."""
    exc = ValidationFailed(f"{field}: {message}")
    exc.field = field  # type: ignore[attr-defined]  # read by the API's error handler
    return exc


def _tier_values(body: schemas.CartridgeCreate, client_id: UUID | None) -> dict[str, Any]:
    tier = body.tier
    if tier == "system":
        for field in ("client_id", "user_id", "skill"):
            if getattr(body, field) is not None:
                raise invalid(
                    field, "a system cartridge is shared by every client: it has no client, user or skill"
                )
    elif client_id is None:
        raise invalid("client_id", f"a {tier} cartridge belongs to a client")
    if tier == "workspace" and body.user_id is not None:
        raise invalid(
            "user_id", "a workspace cartridge is the client's own: it names no user (use tier user)"
        )
    if tier == "user" and body.user_id is None:
        raise invalid("user_id", "a user cartridge names its user")
    if tier == "skill" and body.skill is None:
        raise invalid("skill", f"a skill cartridge names its skill: one of {', '.join(schemas.SKILLS)}")
    if tier != "skill" and body.skill is not None:
        raise invalid("skill", "only skill cartridges name a skill")
    return {
        "client_id": client_id if tier != "system" else None,
        "user_id": body.user_id,
        "tier": tier,
        "skill": body.skill,
        "name": body.name,
        "description": body.description,
        "voice": body.voice,
        "knowledge": body.knowledge,
        "parent_cartridge_id": body.parent_cartridge_id,
        "active": body.active,
        "auto_generate": body.auto_generate,
    }


async def _check_user(conn: Conn, user_id: UUID | None, client_id: UUID | None) -> None:
    if user_id is not None and await repo.user_client(conn, user_id) != client_id:
        raise invalid("user_id", "no such user in this client")


async def _check_parent(
    conn: Conn, child: Mapping[str, Any], parent_id: UUID, *, self_id: UUID | None = None
) -> None:
    parent = await repo.get(conn, parent_id)
    if parent is None:  # another client's cartridge is invisible: the same answer as a missing one
        raise invalid("parent_cartridge_id", "no such cartridge")
    if parent["client_id"] is not None and parent["client_id"] != child["client_id"]:
        raise invalid(
            "parent_cartridge_id",
            "a cartridge inherits only from a system cartridge or one of its own client",
        )
    if TIER_ORDER.index(parent["tier"]) > TIER_ORDER.index(child["tier"]):
        raise invalid(
            "parent_cartridge_id",
            f"a {child['tier']} cartridge cannot inherit from a {parent['tier']} cartridge"
            " (the order is system → workspace → user → skill)",
        )
    if parent["user_id"] is not None and parent["user_id"] != child["user_id"]:
        raise invalid("parent_cartridge_id", "a cartridge cannot inherit from another user's cartridge")
    if self_id is None:
        return
    chain = await repo.chain(conn, parent_id)
    ids = [row["id"] for row in chain]
    if self_id in ids:
        loop = chain[: ids.index(self_id) + 1]
        names = [child["name"], *(row["name"] for row in loop)]
        raise Conflict(
            "parent_cartridge_id would make a cycle: " + " → ".join(names),
            detail={"cycle": [str(self_id), *(str(row["id"]) for row in loop)]},
        )


async def _one_active(conn: Conn, row: Mapping[str, Any]) -> None:
    if row["client_id"] is None or not row["active"]:
        return
    others = await repo.active_ids(conn, row)
    if others:
        owner = {"workspace": "the client", "user": "this user", "skill": "this skill"}[row["tier"]]
        raise Conflict(
            f"{owner} already has an active {row['tier']} cartridge ({others[0]}): edit it, or deactivate it first",
            detail={"active_cartridge_id": str(others[0])},
        )


async def get(conn: Conn, cartridge_id: UUID, *, for_update: bool = False) -> dict[str, Any]:
    row = await repo.get(conn, cartridge_id, for_update=for_update)
    if row is None:
        raise NotFound("cartridge not found")
    return row


async def prepare(conn: Conn, *, client_id: UUID | None, body: schemas.CartridgeCreate) -> dict[str, Any]:
    """The new cartridge's columns, once every rule holds (nothing is written)."""
    values = _tier_values(body, client_id)
    await _check_user(conn, body.user_id, values["client_id"])
    if body.parent_cartridge_id is not None:
        await _check_parent(conn, values, body.parent_cartridge_id)
    await _one_active(conn, values)
    return values


async def create(conn: Conn, *, client_id: UUID | None, body: schemas.CartridgeCreate) -> dict[str, Any]:
    """A new cartridge (version 1). `client_id` is None for a system cartridge (an operator's connection)."""
    return await repo.insert(conn, await prepare(conn, client_id=client_id, body=body))


async def update(conn: Conn, cartridge_id: UUID, body: schemas.CartridgeUpdate) -> dict[str, Any]:
    """Apply the fields sent; a change makes a new version, sending what is already there does not."""
    row = await get(conn, cartridge_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("parent_cartridge_id") is not None:
        await _check_parent(conn, row, changes["parent_cartridge_id"], self_id=row["id"])
    if changes.get("active") and not row["active"]:
        await _one_active(conn, {**row, "active": True})
    changes = {k: v for k, v in changes.items() if row.get(k) != v}
    if not changes:
        return row
    return await repo.update(conn, cartridge_id, changes)


async def write_generated(
    conn: Conn, cartridge_id: UUID, voice: dict[str, Any], source_posts_count: int
) -> dict[str, Any]:
    """Store an auto-generated voice (a `generate` version)."""
    await get(conn, cartridge_id, for_update=True)
    values = {"voice": voice, "auto_generate": True, "source_posts_count": source_posts_count}
    return await repo.update(conn, cartridge_id, values, change="generate")


async def delete(conn: Conn, cartridge_id: UUID) -> None:
    """Delete a cartridge and its versions; refused while others inherit from it."""
    await get(conn, cartridge_id, for_update=True)
    heirs = await repo.children(conn, cartridge_id)
    if heirs:
        raise Conflict(
            "other cartridges inherit from this one: "
            + ", ".join(h["name"] for h in heirs)
            + "; point them elsewhere first",
            detail={"children": [str(h["id"]) for h in heirs]},
        )
    await repo.delete(conn, cartridge_id)


async def versions(conn: Conn, cartridge_id: UUID, *, limit: int, before: int | None) -> list[dict[str, Any]]:
    await get(conn, cartridge_id)
    return await repo.versions(conn, cartridge_id, limit=limit, before=before)


async def version(conn: Conn, cartridge_id: UUID, number: int) -> dict[str, Any]:
    row = await repo.version(conn, cartridge_id, number)
    if row is None:
        raise NotFound(f"cartridge version {number} not found")
    return row


def view(row: Mapping[str, Any]) -> schemas.Cartridge:
    return schemas.Cartridge.model_validate(
        {**row, "voice": row.get("voice") or {}, "knowledge": row.get("knowledge") or {},
         "auto_generate": bool(row.get("auto_generate")), "active": bool(row.get("active"))}
    )  # fmt: skip


def version_view(row: Mapping[str, Any]) -> schemas.Version:
    return schemas.Version.model_validate(row)


def resolved_view(resolved: Resolved) -> schemas.ResolvedCartridge:
    return schemas.ResolvedCartridge.model_validate(
        {
            "cartridge_id": resolved.cartridge_id,
            "version": resolved.version,
            "voice": resolved.voice,
            "knowledge": resolved.knowledge,
            "origins": resolved.origins,
            "chain": resolved.links,
        }
    )
