"""Domain code never imports the faces' libraries (architecture.md, rules of the house)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import segport

FACES = ("segport.cli", "segport.tui")
FORBIDDEN = ("textual", "click")


def headless_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(segport.__path__, "segport.")]
    return [n for n in names if not n.startswith(FACES) and n != "segport.__main__"]


def test_headless_modules_do_not_import_textual_or_click() -> None:
    modules = headless_modules()
    assert "segport.workspace" in modules and "segport.sources.base" in modules
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
