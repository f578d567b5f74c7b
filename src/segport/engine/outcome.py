"""How a run ended: its outcome, its exit code, and the file of rows kept back or refused."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from segport.engine.ledger import Ledger
    from segport.engine.spool import Plan

Outcome = Literal["succeeded", "completed_with_rejections", "failed", "cancelled"]
#: Exit codes of cli.md, by outcome.
EXIT_CODES: dict[str, int] = {"succeeded": 0, "completed_with_rejections": 3, "failed": 1,
                              "cancelled": 130}
REJECTED_NAME = "rejected.csv"
REJECTED_HEADER = ("segment", "key", "email", "stage", "reason")


@dataclass(frozen=True)
class RunResult:
    """A finished run as both faces report it."""

    run_id: int
    export: str
    outcome: str
    counts: Mapping[str, int]
    duration: float
    detail: str | None = None
    rejected_file: str | None = None
    segments: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.outcome, 1)

    def as_dict(self) -> dict[str, object]:
        return {"run_id": self.run_id, "export": self.export, "outcome": self.outcome,
                "exit_code": self.exit_code, "duration": round(self.duration, 3),
                "counts": dict(self.counts), "detail": self.detail,
                "rejected_file": self.rejected_file,
                "segments": {k: dict(v) for k, v in self.segments.items()}}


def decide(counts: Mapping[str, int]) -> tuple[Outcome, str | None]:
    """The outcome of a run that went to its end, from its totals: never ``succeeded`` when a
    row was kept back, refused or not delivered."""
    failed = counts.get("failed", 0)
    if failed:
        return "failed", (f"{failed:,} row(s) could not be delivered (network or platform "
                          "errors, see the rejected file); run the export again to send them.")
    kept = {k: counts.get(k, 0) for k in ("invalid", "duplicates", "rejected")}
    if any(kept.values()):
        said = ", ".join(f"{v:,} {k}" for k, v in kept.items() if v)
        return "completed_with_rejections", f"Rows kept back or refused: {said}."
    return "succeeded", None


def write_rejected(folder: Path, plan: Plan | None, ledger: Ledger, run_id: int) -> Path | None:
    """``folder/rejected.csv``: rows kept back locally (invalid, duplicate) and rows the platform
    refused (rejected) or that were not delivered (failed), each with its reason. None when
    there are none (no file is written)."""
    path = folder / REJECTED_NAME
    written = 0
    refused = ledger.rejections(run_id)
    if not refused and (plan is None or not plan.totals.invalid + plan.totals.duplicates):
        return None
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(REJECTED_HEADER)
        for problems in plan.problems() if plan is not None else ():
            for p in problems:
                stage = "duplicate" if p.reason.startswith("duplicate of ") else "invalid"
                out.writerow((p.segment, p.key or "", p.value or "", stage, p.reason))
                written += 1
        for segment, r in refused:
            out.writerow((segment, r.key or "", r.email, "failed" if r.retryable else "rejected",
                          r.reason))
            written += 1
    return path if written else None
