"""Domain code never imports the faces' libraries (architecture.md, rules of the house)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import segport

FACES = ("segport.cli", "segport.tui")
FORBIDDEN = ("textual", "click")
SRC = Path(segport.__file__).parent


def headless_files() -> list[Path]:
    faces = {SRC / "cli", SRC / "tui"}
    return [p for p in SRC.rglob("*.py")
            if not any(f in p.parents for f in faces) and p.name != "__main__.py"]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_headless_module_imports_textual_or_click() -> None:
    files = headless_files()
    assert SRC / "workspace.py" in files and SRC / "sources" / "base.py" in files
    offenders = {str(p.relative_to(SRC)): sorted(imported_roots(p) & set(FORBIDDEN))
                 for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_textual_is_not_loaded_by_the_headless_modules() -> None:
    # click itself can arrive transitively (httpx loads its optional CLI when click is
    # installed), so at run time only textual is checked; direct imports are checked above.
    modules = [m.name for m in pkgutil.walk_packages(segport.__path__, "segport.")
               if not m.name.startswith(FACES) and m.name != "segport.__main__"]
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] == 'textual')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
