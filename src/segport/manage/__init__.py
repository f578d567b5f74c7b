"""What a user does to a workspace (add a connection, an export, a segment…), checked and saved.

Both faces call these: the CLI and the TUI. Every change re-reads the workspace under its lock,
checks permissions with :mod:`segport.access`, validates, and writes atomically.
"""

from segport.manage.context import Context

__all__ = ["Context"]
