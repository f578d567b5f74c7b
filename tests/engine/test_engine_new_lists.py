"""Segments whose lists do not exist yet are still one list each (Iterable, Autopilot)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine_support import config, export, planned, write_parquet

from segport.engine.ledger import Ledger
from segport.engine.run import _known_lists
from segport.workspace import Workspace

PEOPLE = [("P1", "anna@example.com", "Anna", "Smith", "US"),
          ("P2", "bob@example.com", "Bob", "Jones", "US"),
          ("P3", "carl@example.com", "Carl", "Meyer", "DE")]


class NoLists:
    """An account with no lists yet."""

    label = "Iterable"

    async def lists(self) -> list[object]:
        return []


def test_two_new_lists_are_planned_as_two_lists(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    ws.ensure_db()
    exp = export(["us", "all"], kind="iterable")
    list_ids = asyncio.run(_known_lists(NoLists(), exp))  # type: ignore[arg-type]
    assert len(set(list_ids.values())) == 2  # one placeholder per segment
    cfg = config(write_parquet(tmp_path / "p.parquet", PEOPLE),
                 {"us": "country = 'US'", "all": "true"})
    with planned(cfg, exp, Ledger.reader(ws.db_path), list_ids=list_ids) as plan:
        # the same people in both segments go to both lists: none is a duplicate
        assert (plan.segment("us").counts.adds, plan.segment("us").counts.duplicates) == (2, 0)
        assert (plan.segment("all").counts.adds, plan.segment("all").counts.duplicates) == (3, 0)
