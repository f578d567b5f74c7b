"""segport: export segments of customer profiles to email-marketing platforms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("segport")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
