"""The dashboard's main pages at a million leads: p50/p95 over HTTP with a signed-in session.

    .venv/bin/python bench/dashboard.py [--leads 1111112] [--requests 100] [--reuse-database URL]

Loads the data of bench/api_scale.py (generated in SQL with `insert … select generate_series`, indexes
rebuilt after the load, VACUUM ANALYZE) into a throwaway database of a temporary embedded PostgreSQL: the
big client holds 90 % of `--leads` (1,000,000 by default), each lead with its comment, DM sequence
(about 1 % waiting for an email review) and timeline; the analytics views are refreshed, as the worker
does every few minutes (the overview reads them). Then `revos serve` runs the real app, a person of
the big client signs in through the sign-in form, and each page is fetched `--requests` times in a row:
the overview, the leads list (first page, a keyset page half a million rows deep, a status filter, a
name search), a lead's page with its timeline, and the review queue. Prints p50/p95 per page; the
target is p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from psycopg.rows import dict_row

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_scale  # the loader and the server of the API bench

PASSWORD = "bench dashboard password"
TARGET_MS = 150.0


async def set_password(url: str, user_id: uuid.UUID) -> None:
    from revos.config import Settings
    from revos.identity import service as identity

    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row, autocommit=True) as conn:
        await identity.set_password(conn, Settings(), user_id, PASSWORD)  # type: ignore[arg-type]


def sign_in(client: httpx.Client, email: str) -> None:
    form = client.get("/app/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "no CSRF field on the sign-in form"
    done = client.post(
        "/app/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1), "next": "/app/"},
    )
    if not str(done.url).endswith("/app/"):
        raise RuntimeError(f"sign-in failed: {done.status_code} {done.text[:300]}")


def pages(url: str, client_id: uuid.UUID) -> dict[str, str]:
    from revos.db.pagination import encode_cursor

    with psycopg.connect(url, row_factory=dict_row) as conn:
        total = conn.execute("select count(*) as n from leads where client_id = %s", (client_id,)).fetchone()
        deep = conn.execute(
            "select created_at, id from leads where client_id = %s order by created_at desc, id desc"
            " offset %s limit 1",
            (client_id, min(500_000, int(total["n"]) // 2)),  # type: ignore[index]
        ).fetchone()
        lead = conn.execute(
            "select l.id, l.first_name from leads l join lead_events e on e.lead_id = l.id"
            " where l.client_id = %s and l.first_name is not null limit 1",
            (client_id,),
        ).fetchone()
    assert deep
    assert lead
    prefix = str(lead["first_name"])[:4].lower()
    return {
        "overview": "/app/",
        "leads, first page": "/app/leads",
        "leads, keyset page 500k deep": f"/app/leads?cursor={encode_cursor(deep['created_at'], deep['id'])}",
        "leads, status filter": "/app/leads?status=email_captured",
        f"leads, search '{prefix}'": f"/app/leads?q={prefix}",
        "lead timeline": f"/app/leads/{lead['id']}",
        "review queue": "/app/review",
    }


def measure(base: str, email: str, targets: dict[str, str], requests: int) -> None:
    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client:
        sign_in(client, email)
        print(
            f"\n{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  (n={requests}, target p95 ≤ {TARGET_MS:.0f})"
        )
        for label, path in targets.items():
            for _ in range(3):  # warm-up
                client.get(path)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or "/app/sign-in" in str(response.url):
                    raise RuntimeError(f"GET {path}: {response.status_code}")
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            flag = "" if p95 <= TARGET_MS else "  over target"
            print(
                f"{label:<36} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f}{flag}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--leads", type=int, default=1_111_112, help="leads to load (90 %% in the big client)"
    )
    parser.add_argument("--requests", type=int, default=100, help="requests per page")
    parser.add_argument("--reuse-database", help="a database this bench (or api_scale) loaded before")
    args = parser.parse_args()

    from revos import migrations

    workdir = Path(tempfile.mkdtemp(prefix="rdb-w-", dir="/tmp"))
    try:
        with api_scale.server_url(args.reuse_database) as root:
            if args.reuse_database:
                url = args.reuse_database
                migrations.migrate(url)
                world = api_scale.read_world(url)
            else:
                name = f"dashboard_{uuid.uuid4().hex[:8]}"
                with psycopg.connect(root, autocommit=True) as conn:
                    conn.execute(f'create database "{name}"')
                url = api_scale.with_database(root, name)
                migrations.migrate(url)
                api_scale.log(f"database {name} migrated; loading {args.leads:,} leads")
                world = api_scale.load(url, args.leads)
            with psycopg.connect(url, row_factory=dict_row) as conn:
                sizes = {
                    r["client_id"]: r["n"]
                    for r in conn.execute("select client_id, count(*) as n from leads group by 1").fetchall()
                }
                big = max(world.tenants.values(), key=lambda t: sizes.get(t.client_id, 0))
                api_scale.log(f"the {big.label} client holds {sizes.get(big.client_id, 0):,} leads")
            asyncio.run(set_password(url, big.admin_user))
            # The overview reads the analytics views: refreshed here as the worker would.
            started = time.perf_counter()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("select analytics.refresh()")
            api_scale.log(f"analytics views refreshed in {time.perf_counter() - started:.1f} s")
            with psycopg.connect(url, row_factory=dict_row) as conn:
                email = conn.execute("select email from users where id = %s", (big.admin_user,)).fetchone()
            assert email
            targets = pages(url, big.client_id)
            with api_scale.serve(url, workdir) as base:
                api_scale.log(f"revos serve on {base}; signed in as {email['email']} ({big.label} client)")
                measure(base, str(email["email"]), targets, args.requests)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
