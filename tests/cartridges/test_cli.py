"""`revos cartridges`: the CLI writes system cartridges (as the service role), each change a version;
`revos agency token --operator` issues the token that may do it through the API."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx

from revos.runtime import Runtime
from revos.security import jwt as jwt_tokens
from tests.cli.test_commands import base_env, run
from tests.support import Tenant, read_rows, superuser_conn


def test_set_creates_then_changes_a_system_cartridge_and_list_shows_it(db_url: str, tmp_path: Path) -> None:
    env = base_env(REVOS_DATABASE_URL=db_url, REVOS_DATA_DIR=str(tmp_path))
    name = f"Plain {uuid.uuid4().hex[:6]}"
    spec = tmp_path / "plain.json"
    spec.write_text(json.dumps({"description": "plain words", "voice": {"tone": "plain"}}))
    try:
        created = run(["cartridges", "set", name, "--file", str(spec)], env)
        assert created.returncode == 0, created.stderr
        assert "is at version 1" in created.stdout
        spec.write_text(json.dumps({"voice": {"tone": "plainer"}}))
        changed = run(["cartridges", "set", name, "--file", str(spec)], env)
        assert "is at version 2" in changed.stdout, changed.stderr
        listed = run(["cartridges", "list"], env)
        assert f"v2  {name}" in listed.stdout
        assert "Professional" in listed.stdout
        versions = read_rows(
            db_url,
            "select v.version, v.changed_by, v.snapshot -> 'voice' ->> 'tone' as tone from cartridge_versions v"
            " join cartridges c on c.id = v.cartridge_id where c.name = %s order by v.version",
            name,
        )
        assert [(v["version"], v["changed_by"], v["tone"]) for v in versions] == [
            (1, "cli:cartridges", "plain"),
            (2, "cli:cartridges", "plainer"),
        ]
        spec.write_text(json.dumps({"tier": "user"}))
        refused = run(["cartridges", "set", name, "--file", str(spec)], env)
        assert refused.returncode != 0
    finally:
        with superuser_conn(db_url) as conn:
            conn.execute("delete from cartridges where client_id is null and name = %s", (name,))


def test_agency_token_operator_flag_issues_an_operator_token(
    db_url: str, tmp_path: Path, tenant: Tenant, runtime: Runtime
) -> None:
    env = base_env(
        REVOS_DATABASE_URL=db_url, REVOS_DATA_DIR=str(tmp_path), REVOS_JWT_SECRET=runtime.jwt_secret
    )
    issued = run(["agency", "token", str(tenant.user_id), "--operator"], env)
    assert issued.returncode == 0, issued.stderr
    claims = jwt_tokens.verify(issued.stdout.strip().splitlines()[-1], runtime.jwt_secret)
    assert claims.is_operator
    plain = run(["agency", "token", str(tenant.user_id)], env)
    assert not jwt_tokens.verify(plain.stdout.strip().splitlines()[-1], runtime.jwt_secret).is_operator
    assert "operator" not in claims.model_copy(update={"operator": False}).for_database()


async def test_an_operator_flag_on_a_client_token_grants_nothing(
    api: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    client_token = jwt_tokens.Claims(
        sub=str(tenant.user_id), client_id=tenant.client_id, user_role="admin", operator=True
    )
    assert not client_token.is_operator
    body = {"tier": "system", "name": f"Op {uuid.uuid4().hex[:6]}"}
    as_client = {"Authorization": f"Bearer {jwt_tokens.issue(client_token, runtime.jwt_secret)}"}
    assert (await api.post("/v1/cartridges", json=body, headers=as_client)).status_code == 403
