"""Printing for the CLI: data to stdout (tables or JSON), messages to stderr; NO_COLOR respected."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from segport.manage import Context
from segport.workspace import Workspace, resolve_location

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def context(ctx: click.Context) -> Context:
    """The acting user's context on the workspace chosen by ``--workspace`` and the env."""
    root = resolve_location(ctx.find_root().obj.get("workspace"))
    return Context(workspace=Workspace(root))


def emit_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table on stdout."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for h in headers:
        t.add_column(h, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    out.print(t)


def info(message: str) -> None:
    """A message for the person (stderr)."""
    err.print(message, highlight=False, markup=False)


def warn(message: str) -> None:
    """A warning for the person (stderr)."""
    err.print(f"Warning: {message}", style="yellow", highlight=False, markup=False)


def fail(message: str, code: int) -> NoReturn:
    """An error message on stderr, then exit with ``code``."""
    err.print(f"Error: {message}", style="bold red", highlight=False, markup=False)
    sys.exit(code)


def read_secret(prompt: str) -> str:
    """A secret from stdin (piped) or a hidden prompt (terminal); never from argv."""
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, default="", show_default=False))
    return sys.stdin.read().strip()
