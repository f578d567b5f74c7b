"""The headless face: ``segport`` commands (cli.md): parse, call :mod:`segport.manage`, print."""

from __future__ import annotations

import os
import sys

import click

from segport import __version__
from segport.cli import (
    connections,
    demo,
    exports,
    plan,
    run,
    sandbox,
    schedule,
    segments,
    source,
)
from segport.cli.output import fail
from segport.errors import SegportError


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "workspace", metavar="DIR", type=click.Path(file_okay=False),
              help="Workspace folder (default: $SEGPORT_WORKSPACE, else the user data directory).")
@click.version_option(__version__, prog_name="segport")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None) -> None:
    """Export segments of customer profiles to Iterable, SendGrid and Autopilot.

    With no command, opens the terminal app (in a terminal; otherwise prints this help).
    """
    ctx.obj = {"workspace": workspace}
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from segport.tui import run_tui

            sys.exit(run_tui(workspace))
        click.echo(ctx.get_help())


for module in (source, segments, connections, exports, plan, run, demo, sandbox, schedule):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    """Console-script entry point: expected errors become a message and an exit code."""
    try:
        cli.main(standalone_mode=False, prog_name="segport")
    except SegportError as exc:
        fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        fail("Cancelled.", 130)
    except KeyboardInterrupt:
        fail("Cancelled.", 130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except Exception as exc:
        if os.environ.get("SEGPORT_DEBUG"):
            raise
        fail(f"Unexpected error ({type(exc).__name__}). This is a bug in segport; run again with "
             "SEGPORT_DEBUG=1 to see the details, and please report it.", 1)
    sys.exit(0)
