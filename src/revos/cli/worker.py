"""`revos worker`: run queued jobs and the periodic upkeep until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

import typer

from revos.cli.common import console, err_console, run, settings_and_url, setup_logging, tune_collector


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    concurrency: int = typer.Option(None, help="jobs run at once (default REVOS_WORKER_CONCURRENCY)"),
    queue: list[str] = typer.Option(None, "--queue", "-q", help="only this queue (repeatable; default: all)"),
    no_periodic: bool = typer.Option(False, "--no-periodic", help="do not schedule periodic tasks"),
) -> None:
    """Run the job worker: queued tasks plus periodic work, reconnecting after database restarts."""
    settings, url = settings_and_url()
    setup_logging(settings)
    settings.require_secrets()
    settings.database_url = url  # the embedded server's, if that is what settings_and_url started

    async def _main() -> None:
        from revos.queue.worker import QueueWorker
        from revos.runtime import Runtime

        rt = Runtime.build(settings, name="revos-worker")
        await rt.open()
        qw = QueueWorker(rt, queues=queue or None, concurrency=concurrency, periodic=not no_periodic)
        tune_collector()
        loop = asyncio.get_running_loop()
        supervisor = asyncio.ensure_future(qw.run())

        def _on_signal(signum: signal.Signals) -> None:
            if qw.stop_requested:
                err_console.print(
                    f"{signum.name}: already stopping; running jobs have "
                    f"{settings.worker_shutdown_timeout_seconds:g} s before they are aborted"
                )
                return
            err_console.print(f"{signum.name}: finishing running jobs, then stopping")
            qw.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, _on_signal, signum)

        async def _announce() -> None:
            worker_id = await qw.wait_running()
            console.print(f"worker {worker_id} running (Ctrl+C to stop)")

        announce = asyncio.ensure_future(_announce())
        try:
            await supervisor
        finally:
            announce.cancel()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            await rt.close()
        console.print("worker stopped")

    run(_main())
