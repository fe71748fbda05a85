"""`revos sim`: the Unipile-compatible LinkedIn simulator on its own."""

from __future__ import annotations

import asyncio

import typer

from revos.cli.common import console

app = typer.Typer(help="The Unipile-compatible LinkedIn simulator.", no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="bind address"),
    port: int = typer.Option(8100, help="port (0 picks a free one)"),
    api_key: str = typer.Option("sim-key", "--api-key", help="value expected in X-API-KEY"),
    seed: int = typer.Option(1, help="seed for ids and persona choices"),
    speed: float = typer.Option(1.0, help="simulated seconds per wall second (e.g. 3600: an hour a second)"),
    demo: bool = typer.Option(True, "--demo/--empty", help="start with a demo login and scripted members"),
) -> None:
    """Serve the simulator until interrupted and print its URL."""
    from revos.clock import ScaledClock, SystemClock
    from revos.sim import Simulator
    from revos.sim import serve as serve_sim
    from revos.sim.demo import DEMO_PASSWORD, DEMO_USERNAME, populate

    clock = ScaledClock(speed) if speed != 1.0 else SystemClock()
    sim = Simulator(api_key=api_key, seed=seed, clock=clock)
    if demo:
        populate(sim)

    async def _main() -> None:
        async with serve_sim(sim, host=host, port=port) as base_url:
            console.print(f"Unipile simulator: [bold]{base_url}/api/v1[/bold]  (X-API-KEY: {api_key})")
            console.print(f"DSN for the client: {base_url}")
            if demo:
                console.print(f"LinkedIn login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
            console.print(f"clock speed: x{speed:g}   seed: {seed}   Ctrl+C to stop")
            await asyncio.Event().wait()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        console.print("stopped")
