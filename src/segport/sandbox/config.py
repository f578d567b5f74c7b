"""Every limit of the emulators, as plain dataclasses.

Defaults are the documented values, or the "emulator decisions" of docs/destinations.md where the
platform documents none. Tests tighten them, at start-up or at run time via
``POST /_sandbox/config`` (:func:`apply_patch`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from segport.model import DataCenter
from segport.sandbox.defaults import DEMO_KEYS, account_id

ResetStyle = Literal["rst", "fin", "truncate"]
ResetHeader = Literal["epoch", "delta"]

#: Scopes the SendGrid demo key reports on ``GET /v3/scopes`` (a marketing-only restricted key).
MARKETING_SCOPES: tuple[str, ...] = (
    "marketing.read",
    "marketing.create",
    "marketing.update",
    "marketing.delete",
)


@dataclass
class RateLimit:
    """A token bucket's refill ``rate`` (requests per second) and capacity ``burst``."""

    rate: float
    burst: float


@dataclass
class FaultConfig:
    """What goes wrong, and how often: probabilities per API request, repeatable by ``seed``.

    - ``error_rate``: answer one of ``error_statuses`` instead of doing the work.
    - ``reset_rate``: drop the connection without an answer (``reset_style``: ``rst`` = TCP reset,
      ``fin`` = orderly close, ``truncate`` = headers and part of a body, then close).
    - ``timeout_rate``: hold the request ``hang_seconds`` (or until the client hangs up), undone.
    - ``late_rate``: do the work, then hold the answer ``hang_seconds`` (Autopilot's "timeout after
      completing the work").
    - ``latency`` (+ up to ``latency_jitter``): seconds added to every API request.
    - ``storm_seconds``: from the moment this config is applied, every API request is answered 429
      with the platform's own body and headers for that many seconds.
    - ``only``: restrict faults to these ``"METHOD /path/template"`` entries (empty = all).
    - ``max_faults``: stop injecting after that many faults (``None`` = no cap).
    """

    seed: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    reset_rate: float = 0.0
    reset_style: ResetStyle = "rst"
    timeout_rate: float = 0.0
    late_rate: float = 0.0
    hang_seconds: float = 60.0
    latency: float = 0.0
    latency_jitter: float = 0.0
    storm_seconds: float = 0.0
    only: tuple[str, ...] = ()
    max_faults: int | None = None


@dataclass
class IterableConfig:
    """Iterable: the emulator's data centre, extra keys (key → data centre) and limits."""

    data_center: DataCenter = "us"
    demo_key: str = DEMO_KEYS["iterable"]
    keys: dict[str, DataCenter] = field(default_factory=dict)
    max_subscribers: int = 1_000
    max_body_bytes: int = 4 * 1024 * 1024
    subscribe_rate: RateLimit = field(default_factory=lambda: RateLimit(5, 5))
    lists_rate: RateLimit = field(default_factory=lambda: RateLimit(100, 100))
    create_list_rate: RateLimit = field(default_factory=lambda: RateLimit(100, 100))
    #: ``GET /api/lists/getUsers`` and ``GET /api/lists/{listId}/size``: documented "5
    #: requests/minute, per project", each endpoint its own bucket (rate is per second).
    get_users_rate: RateLimit = field(default_factory=lambda: RateLimit(5 / 60, 5))
    list_size_rate: RateLimit = field(default_factory=lambda: RateLimit(5 / 60, 5))
    #: Seconds during which a new list answers subscribe/unsubscribe with ``invalidListId``.
    new_list_delay: float = 0.3
    faults: FaultConfig = field(default_factory=FaultConfig)


@dataclass
class SendGridConfig:
    """SendGrid Marketing Campaigns: extra keys (key → scopes), limits and import-job timing."""

    demo_key: str = DEMO_KEYS["sendgrid"]
    demo_scopes: tuple[str, ...] = MARKETING_SCOPES
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    max_contacts: int = 30_000
    max_body_bytes: int = 6 * 1024 * 1024
    #: Status for a body above ``max_body_bytes`` (400 by the emulator decision; 413 acceptable).
    oversize_status: int = 400
    max_lists: int = 1_000
    max_search_emails: int = 100
    contacts_rate: RateLimit = field(default_factory=lambda: RateLimit(3, 3))
    default_rate: RateLimit = field(default_factory=lambda: RateLimit(10, 10))
    #: An import job stays ``pending`` at least this long, then processes at the rate below;
    #: jobs process concurrently, each at that rate (emulator decision, see ``sendgrid_jobs``).
    job_pending_seconds: float = 0.5
    job_contacts_per_second: float = 20_000
    #: At most this many jobs of an account process at once (0 = no cap; 1 = one at a time).
    job_concurrency: int = 0
    #: Invalid-but-plausible addresses: local parts starting with one of these prefixes ...
    undeliverable_prefixes: tuple[str, ...] = ("bounce",)
    #: ... plus this hash-chosen fraction of all addresses end up in the job's ``errors_url``.
    undeliverable_fraction: float = 0.0
    #: ``X-RateLimit-Reset`` as Unix epoch seconds (real) or seconds until reset.
    reset_header: ResetHeader = "epoch"
    faults: FaultConfig = field(default_factory=FaultConfig)


@dataclass
class AutopilotConfig:
    """Autopilot Journeys v1: extra keys and limits."""

    demo_key: str = DEMO_KEYS["autopilot"]
    keys: tuple[str, ...] = ()
    max_contacts: int = 100
    #: Contacts per page of ``GET /v1/list/{list_id}/contacts[/{bookmark}]``.
    contacts_page_size: int = 100
    rate: RateLimit = field(default_factory=lambda: RateLimit(5, 5))
    faults: FaultConfig = field(default_factory=FaultConfig)


EmulatorConfig = IterableConfig | SendGridConfig | AutopilotConfig


class PatchError(ValueError):
    """A config patch names an unknown setting or gives a value of the wrong type."""


def apply_patch(target: Any, patch: dict[str, Any], where: str = "") -> None:
    """Merge a JSON ``patch`` into the dataclass ``target`` in place (nested dataclasses merge,
    other values replace); raises :class:`PatchError` naming the first bad setting."""
    if not isinstance(patch, dict):
        raise PatchError(f"{where or 'config'}: expected an object")
    fields = {f.name: f for f in dataclasses.fields(target)}
    for key, value in patch.items():
        path = f"{where}{key}"
        if key not in fields:
            raise PatchError(f"{path}: unknown setting")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            apply_patch(current, value, f"{path}.")
        elif value is None and "None" not in str(fields[key].type):
            raise PatchError(f"{path}: may not be null")
        else:
            setattr(target, key, _coerce(current, value, path))


def check(config: EmulatorConfig) -> None:
    """Refuse settings no emulator can honour (raises :class:`PatchError` naming the first)."""
    choices = {"data_center": ("us", "eu"), "reset_header": ("epoch", "delta")}
    for name, allowed in choices.items():
        if getattr(config, name, allowed[0]) not in allowed:
            raise PatchError(f"{name}: one of {', '.join(allowed)}")
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, RateLimit) and (value.rate <= 0 or value.burst < 1):
            raise PatchError(f"{f.name}: needs rate > 0 and burst >= 1")
    if getattr(config, "job_concurrency", 0) < 0:
        raise PatchError("job_concurrency: 0 (no cap) or more")
    if getattr(config, "contacts_page_size", 1) < 1:
        raise PatchError("contacts_page_size: 1 or more")
    if getattr(config, "job_contacts_per_second", 1) <= 0:
        raise PatchError("job_contacts_per_second: must be > 0")
    faults = config.faults
    rates = (faults.error_rate, faults.reset_rate, faults.timeout_rate, faults.late_rate)
    if any(r < 0 for r in rates) or sum(rates) > 1:
        raise PatchError("faults: rates must be >= 0 and add up to at most 1")
    if faults.reset_style not in ("rst", "fin", "truncate"):
        raise PatchError("faults.reset_style: one of rst, fin, truncate")
    if not faults.error_statuses or not all(500 <= s <= 599 for s in faults.error_statuses):
        raise PatchError("faults.error_statuses: one or more 5xx statuses")


def _coerce(current: Any, value: Any, path: str) -> Any:
    if current is None or value is None:
        return value
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = type(current)(value) if ok and isinstance(current, float) else value
    elif isinstance(current, tuple):
        ok = isinstance(value, list | tuple)
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value) if ok else value
    elif isinstance(current, dict):
        ok = isinstance(value, dict)
        if ok:
            value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
    else:
        ok = isinstance(value, type(current))
    if not ok:
        raise PatchError(f"{path}: expected {type(current).__name__}, got {value!r}")
    return value


def public_view(config: EmulatorConfig) -> dict[str, Any]:
    """The config as JSON, with API keys replaced by their account ids (keys are never echoed)."""
    data = dataclasses.asdict(config)
    data["demo_key"] = account_id(config.demo_key)
    keys = data["keys"]
    data["keys"] = (
        {account_id(k): v for k, v in keys.items()} if isinstance(keys, dict)
        else [account_id(k) for k in keys]
    )
    return data
