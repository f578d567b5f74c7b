"""``segport sandbox``: serve the Iterable, SendGrid and Autopilot emulators on loopback."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from segport.cli.output import info
from segport.errors import ConfigError
from segport.sandbox.defaults import DEFAULT_HOST, DEFAULT_PORT


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65533),
              help="Iterable's port; SendGrid and Autopilot follow (N+1, N+2). 0: any free ports.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON line of base URLs and demo keys first.")
def sandbox(host: str, port: int, as_json: bool) -> None:
    """Serve local emulators of the three platforms until interrupted.

    Each prints its base URL and the demo account's API key (sandbox-only keys that open
    nothing but these emulators). Connections of the demo workspace point here.
    """
    from segport.sandbox.server import Sandbox

    server = Sandbox(host, port)
    try:
        server.bind()
    except OSError as exc:
        raise ConfigError(f"Cannot listen on {host} ports {port}–{port + 2}: {exc.strerror or exc}."
                          " Is a sandbox already running? Stop it, or pick --port N.") from None

    def ready(sb: Sandbox) -> None:
        described = sb.describe()
        if as_json:
            sys.stdout.write(json.dumps(described) + "\n")
            sys.stdout.flush()
            return
        for kind, where in described.items():
            info(f"{kind:10} {where['base_url']}   API key: {where['api_key']}")
        info("Serving the sandbox; press Ctrl-C to stop.")

    asyncio.run(server.serve_forever(on_ready=ready))
    info("Sandbox stopped.")


COMMANDS = [sandbox]
