"""The Textual face of segport. ``make_app`` builds the app (for the CLI and the tests);
``run_tui`` runs it in this terminal."""

from segport.tui.app import SegportApp, make_app, run_tui

__all__ = ["SegportApp", "make_app", "run_tui"]
