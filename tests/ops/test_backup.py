"""Backups: a round trip to a directory (the CLI) and to S3 (moto in server mode) restores the same rows,
and a restore refuses a mismatched schema version or a database that is not empty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from revos import migrations
from revos.audit import verify_chain
from revos.db import backup
from revos.errors import Conflict
from tests.conftest import create_database, drop_database
from tests.support import (
    connect,
    make_campaign,
    make_lead,
    make_linkedin_account,
    make_tenant,
    make_webhook_config,
    make_webhook_delivery,
)
from tests.support.rows import insert


def run_cli(args: list[str], url: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVOS_")}
    env.update({"REVOS_ENV": "development", "REVOS_DATABASE_URL": url, "REVOS_DATA_DIR": str(tmp)})
    return subprocess.run(
        [sys.executable, "-m", "revos.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
async def source_url(ops_url: str) -> str:
    """The module's database with a little of everything: a secret, a lead cycle, a partitioned table."""
    async with connect(ops_url) as owner:
        for _ in range(2):
            t = await make_tenant(owner)
            await make_linkedin_account(owner, client_id=t.client_id, user_id=t.user_id)
            campaign = await make_campaign(owner, client_id=t.client_id)
            lead = await make_lead(owner, campaign_id=campaign["id"])
            sequence = await insert(
                owner, "dm_sequences", {"lead_id": lead["id"], "campaign_id": campaign["id"]}
            )
            await owner.execute(
                "update leads set dm_sequence_id = %s where id = %s", (sequence["id"], lead["id"])
            )
            config = await make_webhook_config(owner, client_id=t.client_id, url="https://esp.example/hook")
            delivery = await make_webhook_delivery(owner, webhook_config_id=config["id"], lead_id=lead["id"])
            await insert(owner, "webhook_delivery_attempts", {"delivery_id": delivery["id"], "attempt_number": 1,
                                                              "attempted_at": datetime.now(UTC), "status": "failed"})  # fmt: skip
    return ops_url


@pytest.fixture
def target_url(pg_root_url: str) -> Iterator[str]:
    url = create_database(pg_root_url, "restore")
    migrations.migrate(url)
    yield url
    drop_database(pg_root_url, url)


def fingerprint(manifest: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {t["name"]: (t["rows"], t["data_sha256"]) for t in manifest["tables"]}


async def test_round_trip_through_a_directory_with_the_cli(
    source_url: str, target_url: str, tmp_path: Path
) -> None:
    exported = run_cli(["backup", "export", "--to", str(tmp_path / "backups")], source_url, tmp_path)
    assert exported.returncode == 0, exported.stderr
    [folder] = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == migrations.status(source_url)[-1].migration.version
    names = {t["name"] for t in manifest["tables"]}
    assert {"clients", "leads", "dm_sequences", "webhook_delivery_attempts", "audit_log"} <= names
    assert all((folder / t["file"]).stat().st_size > 0 for t in manifest["tables"])

    restored = run_cli(["backup", "restore", "--from", str(tmp_path / "backups")], target_url, tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout

    # The restored database exports to the very same rows, and its audit chains still hold.
    _, again = backup.export(target_url, str(tmp_path / "again"))
    assert fingerprint(again) == fingerprint(manifest)
    async with connect(target_url) as conn:
        reports = await verify_chain(conn)
    assert reports
    assert all(r.ok for r in reports), [str(r) for r in reports if not r.ok]

    # A second restore finds live data and refuses.
    refused = run_cli(["backup", "restore", "--from", str(folder)], target_url, tmp_path)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr


def test_a_backup_of_another_schema_version_or_damaged_is_refused(
    source_url: str, target_url: str, tmp_path: Path
) -> None:
    location, _ = backup.export(source_url, str(tmp_path))
    manifest_path = Path(location) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_version"] = "20250101000000"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(Conflict, match="schema version is 20250101000000"):
        backup.restore(target_url, location)

    manifest["schema_version"] = migrations.status(source_url)[-1].migration.version
    manifest_path.write_text(json.dumps(manifest))
    (Path(location) / "leads.csv.gz").write_bytes(b"not the export")
    with pytest.raises(Exception, match="does not match its checksum"):
        backup.restore(target_url, location)


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_round_trip_through_s3(
    source_url: str, target_url: str, s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)

    def client() -> Any:
        return boto3.client("s3", endpoint_url=s3, region_name="us-east-1")

    client().create_bucket(Bucket="backups")
    location, manifest = backup.export(source_url, "s3://backups/weekly", s3_client_factory=client)
    assert location.startswith("s3://backups/weekly/revos-")
    keys = [o["Key"] for o in client().list_objects_v2(Bucket="backups")["Contents"]]
    assert any(k.endswith("/manifest.json") for k in keys)

    _, loaded = backup.restore(target_url, "s3://backups/weekly", s3_client_factory=client)
    assert loaded == {t["name"]: t["rows"] for t in manifest["tables"]}
    _, again = backup.export(target_url, str(tmp_path))
    assert fingerprint(again) == fingerprint(manifest)
