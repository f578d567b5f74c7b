"""Every secret goes through one :class:`SecretStore`: the OS keyring, an env override, or memory.

Secrets are addressed by an *entry* name: ``connection:<name>`` for an API key,
``source:postgres`` for the database password. The keyring service is ``segport``.
"""

from __future__ import annotations

import contextlib
import os
import re
from abc import ABC, abstractmethod

from segport.errors import SecretStoreError

SERVICE = "segport"
ENV_PREFIX = "SEGPORT_API_KEY_"

NO_KEYRING_HELP = (
    "No usable OS keyring was found, and segport keeps keys only there. "
    "Install and unlock a Secret Service provider (Debian/Ubuntu: "
    "'apt-get install gnome-keyring', inside a desktop or a D-Bus session), or, for unattended "
    "runs, set the key in the environment as {env}."
)


def connection_entry(connection: str) -> str:
    """Keyring entry of a connection's API key."""
    return f"connection:{connection}"


POSTGRES_ENTRY = "source:postgres"


def env_var_for(connection: str) -> str:
    """``SEGPORT_API_KEY_<CONNECTION>``: the name upper-cased, non-alphanumerics as ``_``.

    Each character that is not an ASCII letter or digit becomes exactly one ``_`` (mapped
    before upper-casing, so ``ß`` or ``ı`` do not turn into ASCII letters).
    """
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", connection).upper()


def _env_hint(entry: str) -> str:
    """The override variable for an entry, or the generic pattern."""
    if entry.startswith("connection:"):
        return env_var_for(entry.removeprefix("connection:"))
    return f"{ENV_PREFIX}<CONNECTION>"


class SecretStore(ABC):
    """Get, set and delete secrets by entry name. Implementations never log a secret."""

    @abstractmethod
    def get(self, entry: str) -> str | None:
        """The secret, or None when there is none."""

    @abstractmethod
    def set(self, entry: str, secret: str) -> None:
        """Store (or replace) a secret."""

    @abstractmethod
    def delete(self, entry: str) -> None:
        """Forget a secret; no error when it is absent."""

    def describe(self) -> str:
        """Where secrets go, for messages."""
        return type(self).__name__


class MemoryStore(SecretStore):
    """Secrets in a dict: for unit tests of other code only."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def get(self, entry: str) -> str | None:
        return self._data.get(entry)

    def set(self, entry: str, secret: str) -> None:
        self._data[entry] = secret

    def delete(self, entry: str) -> None:
        self._data.pop(entry, None)

    def describe(self) -> str:
        return "memory (tests only)"


class KeyringStore(SecretStore):
    """The OS keyring through the ``keyring`` library, service ``segport``."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def _backend(self, entry: str = ""):  # type: ignore[no-untyped-def]
        import keyring
        from keyring.backends import fail

        no_keyring = NO_KEYRING_HELP.format(env=_env_hint(entry))
        try:
            backend = keyring.get_keyring()
        except Exception as exc:
            # A backend named by PYTHON_KEYRING_BACKEND or keyringrc.cfg that cannot start
            # raises from keyring's own detection (RuntimeError, OSError, ImportError, ...).
            raise SecretStoreError(f"{no_keyring} ({type(exc).__name__}: {exc})") from None
        if isinstance(backend, fail.Keyring) or _is_chainer_of_nothing(backend):
            raise SecretStoreError(no_keyring)
        return backend

    def _call(self, what: str, entry: str, fn, *args):  # type: ignore[no-untyped-def]
        from keyring.errors import KeyringError, NoKeyringError

        backend = self._backend(entry)
        try:
            return fn(backend, entry, *args)
        except NoKeyringError:
            raise SecretStoreError(NO_KEYRING_HELP.format(env=_env_hint(entry))) from None
        except Exception as exc:
            # KeyringError from the backend, but also what the Secret Service client lets
            # through when the bus or the daemon went away (OSError, secretstorage and jeepney
            # errors). Keep the class name and the backend's words (never the secret) and
            # say what to try.
            detail = _redact(f"{type(exc).__name__}: {exc}", args)
            advice = (
                "Unlock your keyring (log in to the desktop, or start gnome-keyring-daemon "
                "--unlock) and try again."
                if isinstance(exc, KeyringError)
                else "Make sure a Secret Service provider (gnome-keyring) is running and "
                "unlocked in this D-Bus session, or, for unattended runs, set the key in the "
                f"environment as {_env_hint(entry)}."
            )
            message = f"The OS keyring could not {what} ({detail}). {advice}"
            raise SecretStoreError(message) from None

    def get(self, entry: str) -> str | None:
        return self._call("read a key", entry, lambda b, e: b.get_password(self.service, e))

    def set(self, entry: str, secret: str) -> None:
        self._call("store a key", entry, lambda b, e, s: b.set_password(self.service, e, s), secret)

    def delete(self, entry: str) -> None:
        from keyring.errors import PasswordDeleteError

        def _delete(b, e):  # type: ignore[no-untyped-def]
            with contextlib.suppress(PasswordDeleteError):  # already gone
                b.delete_password(self.service, e)

        self._call("delete a key", entry, _delete)

    def describe(self) -> str:
        try:
            backend = self._backend()
        except SecretStoreError:
            return "no OS keyring"
        return f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"


def _redact(text: str, secrets: tuple[object, ...]) -> str:
    """``text`` with every non-empty secret among ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    return text


def _is_chainer_of_nothing(backend: object) -> bool:
    from keyring.backends import chainer

    return isinstance(backend, chainer.ChainerBackend) and not backend.backends


class EnvOverrideStore(SecretStore):
    """``SEGPORT_API_KEY_<CONNECTION>`` wins over the inner store, for unattended runs.

    Only reads are overridden: set and delete always go to the inner store.
    """

    def __init__(self, inner: SecretStore, environ: dict[str, str] | None = None) -> None:
        self.inner = inner
        self._environ = environ if environ is not None else os.environ

    def _override(self, entry: str) -> str | None:
        if entry.startswith("connection:"):
            value = self._environ.get(env_var_for(entry.removeprefix("connection:")))
            if value:
                return value
        return None

    def get(self, entry: str) -> str | None:
        override = self._override(entry)
        if override is not None:
            return override
        return self.inner.get(entry)

    def set(self, entry: str, secret: str) -> None:
        self.inner.set(entry, secret)

    def delete(self, entry: str) -> None:
        self.inner.delete(entry)

    def describe(self) -> str:
        return f"{self.inner.describe()} (environment overrides {ENV_PREFIX}*)"


def default_store() -> SecretStore:
    """The production store: the OS keyring, with the environment override for reads."""
    return EnvOverrideStore(KeyringStore())
