"""``segport demo``."""

from __future__ import annotations

import click

from segport.cli.output import context, info, warn


@click.command()
@click.option("--setup-only", is_flag=True, help="Create or refresh the demo workspace, then exit.")
@click.option("--profiles", default=150_000, show_default=True, type=click.IntRange(1, 20_000_000),
              help="How many sample profiles to generate.")
@click.pass_context
def demo(ctx: click.Context, setup_only: bool, profiles: int) -> None:
    """Create or refresh the demo workspace (sample profiles, segments, sandbox connections)."""
    from segport.demo import setup_demo

    c = context(ctx)
    result = setup_demo(c.workspace, profiles=profiles, secrets=c.secrets, user=c.user)
    for warning in result.warnings:
        warn(warning)
    made = "generated" if result.regenerated else "kept"
    info(f"Demo workspace ready at {result.workspace}: {result.profiles:,} profiles ({made}), "
         f"{len(result.segments)} segments, {len(result.connections)} sandbox connections.")
    if not setup_only:
        info("The terminal app is not built yet; try 'segport segments list'.")


COMMANDS = [demo]
