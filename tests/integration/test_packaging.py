"""A non-editable install ships the themes, the stylesheet and the console script."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_themes_and_entry_point(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    [wheel] = tmp_path.glob("segport-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    themes = {Path(n).name for n in names if n.startswith("segport/themes/")}
    assert {"segport-dark.toml", "segport-light.toml", "segport-high-contrast.toml"} <= themes
    assert "segport/tui/app.tcss" in names  # the app's stylesheet, read at start-up
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "segport = segport.cli:main" in text
    assert not [n for n in names if n.startswith("tests/")]
