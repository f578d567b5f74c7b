"""``segport demo``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from segport.cli.output import context, info, warn
from segport.sandbox.defaults import DEFAULT_PORT


@click.command()
@click.option("--setup-only", is_flag=True, help="Create or refresh the demo workspace, then exit.")
@click.option("--profiles", default=150_000, show_default=True, type=click.IntRange(1, 20_000_000),
              help="How many sample profiles to generate.")
@click.option("--sandbox-port", default=DEFAULT_PORT, show_default=True, metavar="N",
              type=click.IntRange(1, 65533),
              help="Ports of the sandbox: Iterable N, SendGrid N+1, Autopilot N+2. The demo "
                   "connections point there, and the in-process sandbox listens there.")
@click.pass_context
def demo(ctx: click.Context, setup_only: bool, profiles: int, sandbox_port: int) -> None:
    """Create or refresh the demo workspace (sample profiles, segments, sandbox connections)."""
    from segport.demo import setup_demo

    c = context(ctx)
    result = setup_demo(c.workspace, profiles=profiles, secrets=c.secrets, user=c.user,
                        sandbox_port=sandbox_port)
    for warning in result.warnings:
        warn(warning)
    made = "generated" if result.regenerated else "kept"
    info(f"Demo workspace ready at {result.workspace}: {result.profiles:,} profiles ({made}), "
         f"{len(result.segments)} segments, {len(result.connections)} sandbox connections.")
    if setup_only:
        return
    _open_demo(c.workspace.root, keys_stored=not result.warnings, port=sandbox_port)


def _open_demo(workspace: Path, *, keys_stored: bool, port: int = DEFAULT_PORT) -> None:
    """Serve the sandbox in-process on ``port``..``port + 2`` (unless something already serves
    them) and open the app on the demo."""
    from segport.sandbox.defaults import DEFAULT_HOST, DEMO_KEYS
    from segport.sandbox.server import Sandbox
    from segport.secrets import env_var_for
    from segport.tui import run_tui

    sandbox: Sandbox | None = Sandbox(DEFAULT_HOST, port)
    try:
        sandbox.start()
    except OSError:
        where = "the default ports" if port == DEFAULT_PORT else f"ports {port}–{port + 2}"
        info(f"A sandbox already serves {where}; using it.")
        sandbox = None
    # The demo keys are the sandbox's public ones: with no keyring they reach the demo
    # connections through this process's environment only (never written anywhere).
    if not keys_stored:
        from segport.demo import DEMO_CONNECTIONS

        for name, kind in DEMO_CONNECTIONS.items():
            os.environ.setdefault(env_var_for(name), DEMO_KEYS[kind])
    try:
        code = run_tui(workspace, sandbox=sandbox)
    finally:
        if sandbox is not None:
            sandbox.stop()
    sys.exit(code)


COMMANDS = [demo]
