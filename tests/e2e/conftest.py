"""Fixtures of the end-to-end run tests: the sandbox with pacing lifted, and workspaces on it.

``setup_for(kind)`` builds an in-process :class:`e2e_support.Setup` (its key in a
:class:`MemoryStore`: the keyring is the CLI tests' business, see ``test_run_cli.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import Row, Setup, configure_fast, new_key, new_setup

from segport.model import DestinationType
from segport.sandbox.server import Sandbox
from segport.secrets import MemoryStore


@pytest.fixture
def fast_sandbox(sandbox: Sandbox) -> Sandbox:
    """The session's emulators, reset, with rate limits and delays raised for speed."""
    configure_fast(sandbox)
    return sandbox


@pytest.fixture
def setup_for(tmp_path: Path, fast_sandbox: Sandbox,
              allow_key: Callable[[DestinationType, str], None]
              ) -> Callable[..., Setup]:
    """``setup_for(kind, rows=None)``: a fresh workspace with a connection to the emulator of
    ``kind`` under a key of its own (the default profiles: :func:`e2e_support.population` plus
    :data:`e2e_support.DIRT`)."""
    made: list[Setup] = []

    def build(kind: DestinationType, rows: list[Row] | None = None) -> Setup:
        key = new_key(kind)
        allow_key(kind, key)
        setup = new_setup(kind, tmp_path / f"ws-{kind}-{len(made)}", fast_sandbox, key,
                          MemoryStore(), rows)
        made.append(setup)
        return setup

    return build
