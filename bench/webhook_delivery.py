"""Signed webhook deliveries per second to a local receiver, through the real dispatcher.

Embedded PostgreSQL (a throw-away data directory), every migration, one client with one endpoint on
127.0.0.1, N captured leads enqueued as the lead engine does, then `deliver_due` in batches until
nothing is due. Every delivery is claimed (skip locked), signed (standardwebhooks), POSTed through the
SSRF-checked pinned client, and recorded (delivery row + attempt row + lead status) in PostgreSQL.

    .venv/bin/python bench/webhook_delivery.py [--leads 2000] [--batch 200] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from revos import migrations
from revos.clock import SystemClock
from revos.config import Settings
from revos.db.embedded import start_embedded, stop_embedded
from revos.runtime import Runtime
from revos.webhooks import dispatcher, schemas, service, signing
from revos.webhooks.receiver import Receiver


async def main(leads: int, batch: int, concurrency: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="revos-bench-", dir="/tmp"))
    url = start_embedded(tmp / "pg")
    try:
        migrations.migrate(url)
        settings = Settings(
            env="test",
            database_url=url,
            data_dir=tmp / "data",
            master_key=base64.b64encode(os.urandom(32)).decode(),  # type: ignore[arg-type]
            jwt_secret="bench-jwt-secret-long-enough-for-hs256-signing",  # type: ignore[arg-type]
            webhook_allow_http_loopback=True,
            webhook_dispatch_concurrency=concurrency,
            db_pool_max=max(10, concurrency + 4),
        )
        rt = Runtime.build(settings)
        await rt.open()
        try:
            await run(rt, leads, batch)
        finally:
            await rt.close()
    finally:
        stop_embedded(tmp / "pg")
        shutil.rmtree(tmp, ignore_errors=True)


async def run(rt: Runtime, leads: int, batch: int) -> None:
    async with Receiver(record=False) as receiver:
        await run_with(rt, receiver, leads, batch)


async def run_with(rt: Runtime, receiver: Receiver, leads: int, batch: int) -> None:
    async with rt.db.raw() as conn:
        agency = await (
            await conn.execute("insert into agencies (name, slug) values ('Bench', 'bench') returning id")
        ).fetchone()
        assert agency
        client = await (
            await conn.execute(
                "insert into clients (agency_id, name) values (%s, 'Bench') returning id", (agency["id"],)
            )
        ).fetchone()
        assert client
        client_id = client["id"]
    async with rt.db.service() as conn:
        config, secret = await service.create_config(
            conn,
            sealer=service.ConnSealer(conn, rt.vault),
            settings=rt.settings,
            client_id=client_id,
            body=schemas.WebhookConfigCreate(name="bench", url=f"{receiver.url}/in"),
        )
        campaign = await (
            await conn.execute(
                "insert into campaigns (client_id, name, trigger_word, webhook_config_id)"
                " values (%s, 'Bench', 'GUIDE', %s) returning id",
                (client_id, config["id"]),
            )
        ).fetchone()
        assert campaign
        lead_ids = []
        for i in range(leads):
            row = await (
                await conn.execute(
                    "insert into leads (client_id, campaign_id, linkedin_id, email, first_name, status)"
                    " values (%s, %s, %s, %s, 'Ada', 'email_captured') returning id",
                    (client_id, campaign["id"], f"li-{i}", f"lead{i}@example.com"),
                )
            ).fetchone()
            assert row
            lead_ids.append(row["id"])

    started = time.perf_counter()
    async with rt.db.service() as conn:
        for lead_id in lead_ids:
            await service.enqueue_lead_captured(conn, client_id=client_id, lead_id=lead_id)
    enqueue_s = time.perf_counter() - started

    started = time.perf_counter()
    sent = 0
    concurrency = rt.settings.webhook_dispatch_concurrency
    clock = SystemClock()
    while True:
        n = await dispatcher.deliver_due(
            rt.db, clock=clock, limit=batch, settings=rt.settings, vault=rt.vault
        )
        if n == 0:
            break
        sent += n
    deliver_s = time.perf_counter() - started

    async with rt.db.raw() as conn:
        stats = await (
            await conn.execute(
                "select count(*) filter (where status = 'success') as ok, count(*) as total,"
                " avg(response_time_ms)::numeric(10,2) as avg_ms from webhook_deliveries"
            )
        ).fetchone()
    assert stats

    body = '{"type":"lead.captured","data":{"lead":{"email":"x@example.com"}}}'
    n_sign = 20000
    t0 = time.perf_counter()
    for _ in range(n_sign):
        signing.sign_headers(msg_id=f"msg_{uuid.uuid4().hex}", body=body, secrets_=[secret or ""])
    sign_rate = n_sign / (time.perf_counter() - t0)

    print(f"leads enqueued:            {leads} in {enqueue_s:.2f}s ({leads / enqueue_s:,.0f}/s, one tx)")
    print(f"deliveries attempted:      {sent} (batch {batch}, concurrency {concurrency})")
    print(f"delivered (2xx):           {stats['ok']} of {stats['total']}; receiver saw {receiver.count}")
    print(
        f"signed deliveries/s:       {sent / deliver_s:,.0f} (claim + sign + POST + record, {deliver_s:.2f}s)"
    )
    print(f"avg receiver round trip:   {stats['avg_ms']} ms")
    print(f"signing only (1 secret):   {sign_rate:,.0f} signatures/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.leads, args.batch, args.concurrency))
