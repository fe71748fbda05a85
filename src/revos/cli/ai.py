"""`revos ai`: the local stand-in of the OpenAI and Anthropic HTTP APIs, to try the remote providers
without an account (the official SDKs talk to it unchanged)."""

from __future__ import annotations

import asyncio

import typer

from revos.ai.standin import StandIn
from revos.ai.standin import serve as serve_standin
from revos.cli.common import console

app = typer.Typer(help="The AI providers' local stand-in.", no_args_is_help=True)


@app.command()
def standin(
    host: str = typer.Option("127.0.0.1", help="bind address"),
    port: int = typer.Option(8200, help="port (0 picks a free one)"),
    api_key: str = typer.Option(None, "--api-key", help="the only key accepted (default: any key)"),
) -> None:
    """Serve OpenAI's /v1/chat/completions and /v1/embeddings and Anthropic's /v1/messages until
    interrupted, and print how to point a client's AI settings at it."""

    async def _main() -> None:
        async with serve_standin(StandIn(api_key=api_key), host=host, port=port) as url:
            console.print(f"OpenAI-compatible base URL: [bold]{url}/v1[/bold]")
            console.print(f"Anthropic base URL:         [bold]{url}[/bold]")
            console.print(
                "try: PUT /v1/ai/settings "
                f'{{"provider": "openai", "model": "gpt-4o-mini", "base_url": "{url}/v1", "api_key": "sk-local"}}'
                "  (with REVOS_AI_ALLOW_HTTP_LOOPBACK=true)"
            )
            console.print("Ctrl+C to stop")
            await asyncio.Event().wait()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        console.print("stopped")
