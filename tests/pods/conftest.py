"""Pod tests: a tenant whose members each have a user and a LinkedIn account connected to the simulator,
a ManualClock, and a pod made through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import pytest

from revos.runtime import Runtime
from revos.sim import Simulator
from revos.sim.models import Login
from tests.support import Conn, Tenant, make_linkedin_account, make_tenant, make_user

# Safety that never makes a test wait: no working hours, no gap between two actions, no warm-up.
UNHURRIED = {"working_hours_enabled": False, "gap_min_seconds": 0, "gap_max_seconds": 0, "warmup_days": 0}


@dataclass
class Person:
    user_id: UUID
    account_id: UUID
    unipile_account_id: str
    login: Login
    member_id: UUID | None = None

    @property
    def provider_id(self) -> str:
        return self.login.member.provider_id


@dataclass
class PodWorld:
    owner: Conn
    api: httpx.AsyncClient
    tenant: Tenant
    sim: Simulator
    people: list[Person] = field(default_factory=list)
    pod: dict[str, Any] = field(default_factory=dict)

    async def add_person(self, **safety: Any) -> Person:
        n = len(self.people)
        user = await make_user(self.owner, client_id=self.tenant.client_id)
        login = self.sim.add_account(name=f"Member{n} Tester")
        account = self.sim.connect_account(login)
        row = await make_linkedin_account(
            self.owner,
            client_id=self.tenant.client_id,
            user_id=user["id"],
            unipile_account_id=account.id,
            profile_data={
                "provider_id": login.member.provider_id,
                "first_name": f"Member{n}",
                "last_name": "T",
            },
            safety=UNHURRIED | safety,
            timezone="UTC",
        )
        person = Person(user["id"], row["id"], account.id, login)
        self.people.append(person)
        return person

    async def make_pod(self, members: int, *, activate: bool = True, **fields: Any) -> dict[str, Any]:
        body = {"name": f"pod {len(self.people)}-{id(self)}", "min_members": min(members, 9)} | fields
        r = await self.api.post("/v1/pods", json=body, headers=self.tenant.headers)
        assert r.status_code == 201, r.text
        self.pod = r.json()
        for i in range(members):
            person = await self.add_person()
            r = await self.api.post(
                f"/v1/pods/{self.pod['id']}/members",
                json={"user_id": str(person.user_id), "linkedin_account_id": str(person.account_id),
                      "role": "owner" if i == 0 else "member"},
                headers=self.tenant.headers,
            )  # fmt: skip
            assert r.status_code == 201, r.text
            person.member_id = UUID(r.json()["id"])
        if activate:
            r = await self.api.patch(
                f"/v1/pods/{self.pod['id']}", json={"status": "active"}, headers=self.tenant.headers
            )
            assert r.status_code == 200, r.text
            self.pod = r.json()
        return self.pod

    def person(self, member_id: UUID | str) -> Person:
        return next(p for p in self.people if str(p.member_id) == str(member_id))


@pytest.fixture
async def world(owner: Conn, api: httpx.AsyncClient, linkedin: Simulator, runtime: Runtime) -> PodWorld:
    return PodWorld(owner, api, await make_tenant(owner, runtime), linkedin)
