"""The `revos` command."""

from __future__ import annotations

from typing import Any

import typer
import uvicorn

from revos.cli import backup, cartridges, db, keys, status, tenants, users, worker
from revos.cli.common import console, err_console, run, settings_and_url, setup_logging, tune_collector
from revos.config import get_settings

app = typer.Typer(help="revOS: LinkedIn engagement → captured leads.", no_args_is_help=True)
app.add_typer(db.app, name="db")
app.add_typer(backup.app, name="backup")
app.add_typer(keys.app, name="keys")
app.add_typer(tenants.app, name="agency")
app.add_typer(users.app, name="user")
app.add_typer(cartridges.app, name="cartridges")
worker.register(app)
status.register(app)
audit_app = typer.Typer(help="Tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@app.command()
def serve(
    host: str = typer.Option(None, help="bind address (default REVOS_HOST)"),
    port: int = typer.Option(None, help="port (default REVOS_PORT)"),
) -> None:
    """Run the API server."""
    settings = get_settings()
    setup_logging(settings)
    settings.require_secrets()
    from revos.app import create_app

    api = create_app()
    tune_collector()
    # Our handler and access line (revos.api.observe, with the request id) replace uvicorn's.
    uvicorn.run(
        api,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        loop=settings.event_loop,
    )


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="bind address of the API"),
    port: int = typer.Option(8000, help="API port (0: any free port)"),
    commenters: int = typer.Option(40, "--commenters", min=1, help="simulated members commenting"),
    speed: float = typer.Option(3600.0, "--speed", min=1.0, help="simulated seconds per wall second"),
    seed: int = typer.Option(7, "--seed", help="the simulated members and their behaviour"),
    timeout: float = typer.Option(300.0, "--timeout", min=1.0, help="give up after this many seconds"),
    as_json: bool = typer.Option(
        False, "--json", help="print the funnel as one JSON line (the last line of output) and exit"
    ),
    keep_running: bool = typer.Option(
        False, "--keep-running", help="keep the API and the simulator serving after the run"
    ),
    api_only: bool = typer.Option(
        False, "--api-only", help="no simulated campaign: set up the demo tenant and serve the API"
    ),
    exit_after_setup: bool = typer.Option(
        False, "--exit-after-setup", help="with --api-only: print the credentials and exit"
    ),
) -> None:
    """Run the whole lead engine on embedded defaults and show its funnel against the ground truth.

    Embedded PostgreSQL, the LinkedIn simulator, the API, a worker and a local ESP receiver: a LinkedIn
    account behind 2FA, a lead magnet, a webhook and a campaign are set up through the API; the post is
    published; simulated members comment, reply and click over a sped-up clock."""
    if not api_only and not exit_after_setup:
        _demo_pipeline(host, port, commenters, speed, seed, timeout, as_json, keep_running)
        return
    from revos import migrations
    from revos.app import create_app
    from revos.demo import dashboard as demo_dashboard
    from revos.runtime import Runtime
    from revos.tenancy.bootstrap import ensure_demo_tenant

    settings, url = settings_and_url()
    settings.require_secrets()
    applied = migrations.migrate(url)
    console.print(f"database ready ({len(applied)} migration(s) applied)")

    async def _main() -> None:
        rt = Runtime.build(settings)
        await rt.open()
        try:
            tenant = await ensure_demo_tenant(rt.db, rt.jwt_secret)
            _print_credentials(tenant, f"http://{host}:{port}")
            email, password = await demo_dashboard.login(rt, tenant.user_id)
            for line in demo_dashboard.lines(f"http://{host}:{port}", email, password):
                print(line, flush=True)
            if exit_after_setup:
                return
            server = uvicorn.Server(uvicorn.Config(create_app(rt), host=host, port=port, log_level="warning"))
            await server.serve()
        finally:
            await rt.close()

    try:
        run(_main())
    except KeyboardInterrupt:
        err_console.print("stopped")


def _print_credentials(tenant: Any, base: str) -> None:
    console.rule("[bold]revOS is running[/bold]")
    console.print(f"API:            {base}")
    console.print(f"API docs:       {base}/docs")
    console.print(f"agency:         {tenant.agency_id} (Demo Agency)")
    console.print(f"client:         {tenant.client_id} (Demo Client)")
    # Plain print: credentials must stay on one line to be copied, whatever the terminal width.
    print(f"admin JWT:      {tenant.admin_jwt}")
    print(f"client API key: {tenant.api_key}")
    print(f'try:            curl -H "X-API-Key: {tenant.api_key}" {base}/v1/me', flush=True)


def _demo_pipeline(
    host: str,
    port: int,
    commenters: int,
    speed: float,
    seed: int,
    timeout: float,
    as_json: bool,
    keep_running: bool,
) -> None:
    import json

    from rich.table import Table

    from revos import migrations
    from revos.demo import DemoOptions, run_demo
    from revos.demo.pods import agrees as pod_agrees
    from revos.demo.pods import summary_lines as pod_lines
    from revos.demo.skills import summary_lines
    from revos.demo.world import FUNNEL_KEYS

    settings, url = settings_and_url()
    settings.require_secrets()
    settings.database_url = url
    applied = migrations.migrate(url)
    console.print(f"database ready ({len(applied)} migration(s) applied)")
    options = DemoOptions(
        commenters=commenters,
        speed=speed,
        seed=seed,
        host=host,
        port=port,
        timeout=timeout,
        keep_running=keep_running,
    )
    out = err_console if as_json else console

    def report(result: Any) -> None:
        table = Table(title=f"funnel after {result.elapsed:.0f} s")
        for column in ("stage", "revOS (database)", "simulator (ground truth)", ""):
            table.add_column(column)
        for key in FUNNEL_KEYS:
            got, want = result.funnel.get(key), result.ground_truth.get(key)
            table.add_row(key, str(got), str(want), "ok" if got == want else "[red]differs[/red]")
        out.print(table)
        repeats = result.details.get("repeats", {})
        style = "red" if any(repeats.values()) else "green"
        out.print(
            f"[{style}]sent twice to the same member (simulator's records): "
            f"{repeats.get('duplicate_dms', 0)} DMs, {repeats.get('duplicate_invitations', 0)} invitations[/{style}]"
        )
        for line in summary_lines(result.details.get("skills", [])):
            out.print(f"skills: {line}")
        pod = result.details.get("pod", {})
        for line in pod_lines(pod):
            out.print(f"[{'green' if pod_agrees(pod) else 'red'}]pod: {line}[/]")
        if as_json:
            report = {"funnel": result.funnel, "ground_truth": result.ground_truth}
            report |= {"skills": result.details.get("skills", []), "pod": pod}
            print(json.dumps(report), flush=True)

    try:
        result = run(
            run_demo(settings, options, console=err_console, on_ready=_print_credentials, on_done=report)
        )
    except KeyboardInterrupt:
        err_console.print("stopped")
        return
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(client: str = typer.Option(None, help="only this client id")) -> None:
    """Recompute the per-client hash chains; report the first broken link or that they hold."""
    from uuid import UUID

    import psycopg

    from revos.audit.verify import verify_chain
    from revos.db.audit_seal import seal_url

    _, url = settings_and_url(session=True)

    async def _verify() -> bool:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            # Entries written but not yet chained by the worker are chained first, then verified.
            await seal_url(conn, UUID(client) if client else None)
            async with conn.transaction():
                reports = await verify_chain(conn, UUID(client) if client else None)
        ok = True
        for report in reports:
            console.print(str(report))
            ok = ok and report.ok
        if not reports:
            console.print("no audit records yet")
        return ok

    if not run(_verify()):
        raise typer.Exit(1)


def _register_optional() -> None:
    import importlib

    try:
        sim = importlib.import_module("revos.cli.sim")
    except ImportError:
        return
    app.add_typer(sim.app, name="sim")
    ai = importlib.import_module("revos.cli.ai")
    app.add_typer(ai.app, name="ai")


_register_optional()
