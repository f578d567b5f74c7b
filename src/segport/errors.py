"""Errors a user can act on: each carries its exit code (cli.md) and says what to do."""

from __future__ import annotations


class SegportError(Exception):
    """Base of every expected failure; the message is shown to the user as is."""

    exit_code = 2


class ConfigError(SegportError):
    """The workspace, a file or an argument is wrong: the message names it and the fix."""


class SourceError(SegportError):
    """A profile source or segment cannot be read or queried."""


class SecretStoreError(SegportError):
    """The OS keyring cannot be used (none installed, locked, refused)."""


class PermissionDenied(SegportError):
    """The current user's role does not allow the action; the message says who may."""

    exit_code = 4
