"""Inheritance: a cartridge's voice and knowledge merged along its parent chain, with each field's origin.

The chain is the `parent_cartridge_id` chain, root first (a system cartridge, then workspace, user,
skill). Merging walks it from the root: for every top-level key of `voice` and of `knowledge`, the
nearest cartridge that sets the key wins, whole (nested objects are not merged key by key); a key set
to `null` removes the inherited value. `origins` says, per top-level key, which cartridge (tier, id,
version) the value came from; `chain` lists (id, version) of every link, so whatever is written with a
resolved voice can record the exact versions that wrote it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from revos.cartridges import repo
from revos.db.pool import Conn
from revos.errors import NotFound

DEFAULT_SYSTEM = "Professional"


@dataclass(frozen=True)
class Resolved:
    voice: dict[str, Any]
    knowledge: dict[str, Any]
    # "voice.<key>" / "knowledge.<key>" -> {"tier", "cartridge_id", "version"}
    origins: dict[str, dict[str, Any]]
    chain: list[tuple[UUID, int]]  # root first; the last link is (cartridge_id, version)
    cartridge_id: UUID
    version: int
    tier: str = ""
    name: str = ""
    links: list[dict[str, Any]] = field(default_factory=list)  # id, version, tier, name per link

    def provenance(self) -> dict[str, Any]:
        """JSON-ready record of what wrote something: the cartridge, its version and its chain."""
        return {
            "cartridge_id": str(self.cartridge_id),
            "version": self.version,
            "chain": [[str(i), v] for i, v in self.chain],
        }


def merge(rows: Sequence[Mapping[str, Any]]) -> Resolved:
    """Merge `rows` given nearest first (the cartridge, its parent, ..., the root)."""
    if not rows:
        raise ValueError("nothing to merge")
    voice: dict[str, Any] = {}
    knowledge: dict[str, Any] = {}
    origins: dict[str, dict[str, Any]] = {}
    for row in reversed(rows):
        origin = {"tier": row["tier"], "cartridge_id": row["id"], "version": row["version"]}
        for section, merged in (("voice", voice), ("knowledge", knowledge)):
            for key, value in (row.get(section) or {}).items():
                name = f"{section}.{key}"
                if value is None:
                    merged.pop(key, None)
                    origins.pop(name, None)
                else:
                    merged[key] = value
                    origins[name] = origin
    top = rows[0]
    links = [
        {"id": r["id"], "version": r["version"], "tier": r["tier"], "name": r["name"]} for r in reversed(rows)
    ]
    return Resolved(
        voice=voice,
        knowledge=knowledge,
        origins=origins,
        chain=[(r["id"], r["version"]) for r in reversed(rows)],
        cartridge_id=top["id"],
        version=top["version"],
        tier=top["tier"],
        name=top["name"],
        links=links,
    )


def same_tenant(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The chain up to the first link of another client: a cartridge inherits only from its own client's
    cartridges or from system ones (the parent guard enforces it; a service-role reader checks it again)."""
    client = rows[0]["client_id"]
    kept: list[Mapping[str, Any]] = []
    for row in rows:
        if row["client_id"] is not None and row["client_id"] != client:
            break
        kept.append(row)
    return kept


async def resolve(conn: Conn, cartridge_id: UUID) -> Resolved:
    """The cartridge's merged voice and knowledge (see the module's rules). NotFound if the caller cannot
    see it."""
    rows = await repo.chain(conn, cartridge_id)
    if not rows:
        raise NotFound("cartridge not found")
    return merge(same_tenant(rows))


async def resolve_for(
    conn: Conn, *, client_id: UUID, user_id: UUID | None = None, skill: str | None = None
) -> Resolved:
    """The voice to write with for `client_id` (and a user, and a skill): the nearest active cartridge —
    the user's skill cartridge for `skill`, the user's cartridge, the client's skill cartridge, the
    client's workspace cartridge — else the system "Professional" one. Safe on a service-role connection:
    only the named client's cartridges and system ones are read."""
    found = await repo.nearest(conn, client_id=client_id, user_id=user_id, skill=skill)
    if found is None:
        found = await repo.system_id(conn, DEFAULT_SYSTEM)
    if found is None:
        raise NotFound("no cartridge to resolve: the system cartridges are missing (run the migrations)")
    return await resolve(conn, found)


class Voices:
    """Resolved voices (`resolve_for`) kept between calls while no cartridge changes: the pod executor
    drafts comments for thousands of members, each resolution two or three statements, and the same
    members come back every few seconds.

    `check(conn)` (one statement) compares the cartridges' fingerprint (`repo.fingerprint`: the database,
    the number of cartridges and a hash of every one's id, version and `updated_at`) with the one the kept
    voices were resolved under, and forgets them all when it differs: a cartridge created, edited,
    (de)activated or deleted shows on the next check. At most `limit` voices are kept."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._fingerprint: tuple[Any, ...] | None = None
        self._known: dict[tuple[UUID, UUID | None, str | None], Resolved] = {}

    async def check(self, conn: Conn) -> None:
        fingerprint = await repo.fingerprint(conn)
        if fingerprint != self._fingerprint or len(self._known) >= self.limit:
            self._known.clear()
            self._fingerprint = fingerprint

    async def resolve_for(
        self, conn: Conn, *, client_id: UUID, user_id: UUID | None = None, skill: str | None = None
    ) -> Resolved:
        """`resolve_for`, kept until the next `check` that finds the cartridges changed."""
        key = (client_id, user_id, skill)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = await resolve_for(
                conn, client_id=client_id, user_id=user_id, skill=skill
            )
        return found
