"""Every command has --help; no subcommand prints help; versions; exit codes for usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clirunner import Cli

COMMANDS = [
    [], ["demo"], ["source"], ["source", "set"], ["source", "set", "files"],
    ["source", "set", "sqlite"], ["source", "set", "postgres"], ["source", "show"],
    ["segments"], ["segments", "list"], ["segments", "add"], ["segments", "preview"],
    ["segments", "remove"], ["connections"], ["connections", "list"], ["connections", "add"],
    ["connections", "remove"], ["exports"], ["exports", "list"], ["exports", "add"],
    ["exports", "detach"], ["exports", "attach"], ["exports", "remove"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "segport")
def test_every_command_has_help(cli: Cli, command: list[str]) -> None:
    r = cli(*command, "--help")
    assert r.code == 0, r.output
    assert "Usage: segport" in r.stdout


def test_no_subcommand_prints_help(cli: Cli) -> None:
    r = cli()
    assert r.code == 0
    assert "Commands:" in r.stdout and "connections" in r.stdout


def test_version_via_script_and_module(cli: Cli) -> None:
    from segport import __version__

    assert cli("--version").stdout.strip() == f"segport, version {__version__}"
    proc = subprocess.run([sys.executable, "-m", "segport", "--version"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_usage_errors_exit_2(cli: Cli) -> None:
    r = cli("connections", "add", "--type", "mailchimp", "--name", "x")
    assert r.code == 2
    assert "mailchimp" in r.stderr
    assert "Traceback" not in r.output


def test_commands_without_workspace_say_how_to_start(cli: Cli) -> None:
    r = cli("segments", "list")
    assert r.code == 2
    assert "No workspace at" in r.stderr and "segport demo --setup-only" in r.stderr


class _Task:
    """Stands in for the run's task: counts how often it is cancelled."""

    def __init__(self) -> None:
        self.cancels = 0

    def cancel(self) -> None:
        self.cancels += 1


def test_stop_signals_cancel_then_warn_then_exit_at_once(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from segport.cli.run import _stopper

    task, exits = _Task(), []
    stop = _stopper(task, exits.append)  # type: ignore[arg-type]
    stop()
    assert task.cancels == 1 and capsys.readouterr().err == ""
    stop()
    assert task.cancels == 1 and not exits  # a run being cancelled is not cancelled again
    err = capsys.readouterr().err
    assert "Already stopping" in err and "once more to stop at once" in err
    stop()
    assert exits == [130] and "Stopped at once" in capsys.readouterr().err
