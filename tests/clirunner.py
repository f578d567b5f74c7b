"""Runs the real `segport` binary as a person (or a script) would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """What one `segport` invocation did."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        """The JSON document on stdout of a successful run."""
        assert self.code == 0, self.output
        return json.loads(self.stdout)


def segport_binary() -> str:
    """The installed console script next to this interpreter."""
    exe = Path(sys.executable).with_name("segport")
    found = str(exe) if exe.exists() else shutil.which("segport")
    assert found, "the segport console script is not installed; run tests/run.sh"
    return found


@dataclass
class Cli:
    """Runs the real `segport` binary as a given OS user on one workspace."""

    workspace: Path
    env: dict[str, str]

    def __call__(self, *args: str, user: str | None = None, stdin: str | None = None,
                 env: Mapping[str, str] | None = None) -> Result:
        run_env = {**os.environ, **self.env, **(env or {})}
        run_env["SEGPORT_WORKSPACE"] = str(self.workspace)
        if user is not None:
            run_env["USER"] = run_env["LOGNAME"] = user
        proc = subprocess.run(
            [segport_binary(), *args], input=stdin if stdin is not None else "",
            capture_output=True, text=True, env=run_env, timeout=120, check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)
