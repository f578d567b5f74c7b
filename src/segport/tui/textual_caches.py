"""A workaround for Textual 8.2.8 keeping closed screens alive (Textualize/textual#6665).

Two of Textual's methods are cached with ``functools.lru_cache`` on the *instance*:
``StylesCache.get_inner_outer`` (1,024 entries) and ``DataTable._get_styles_to_render_cell``
(32). Each entry holds its widget's styles cache — and with it the widget's rendered lines — or
the table itself, and through its parents the screen it was on, long after that screen closed:
opening and closing the help 100 times kept 43,000 rendered lines alive. Clearing both caches
now and then lets them go; refilling costs a few colour sums.
"""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.widgets import DataTable

#: Seconds between clears.
RELEASE_EVERY_S = 5.0


def release_textual_caches() -> None:
    """Drop what Textual's instance-method caches hold (they refill as widgets render)."""
    StylesCache.get_inner_outer.cache_clear()
    DataTable._get_styles_to_render_cell.cache_clear()
