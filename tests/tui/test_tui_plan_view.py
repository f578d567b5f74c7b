"""The plan (dry run) view, driven as a person would: from Home's key and from the palette,
counts equal to the domain's plan, a mirror plan refused by the blast-radius guard, "Run now"
opening the run panel, errors as notifications; one snapshot of a finished plan."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, TabbedContent
from tui_support import (
    PROFILES_300,
    SANDBOX_CONNECTION,
    app_for,
    build_workspace,
    screen_text,
    settle,
    wait_for,
)

from segport.engine.events import PlanStarted, RowsRead, RunFinished, RunStarted
from segport.engine.ledger import Ledger
from segport.engine.outcome import RunResult
from segport.engine.records import Delivered
from segport.manage import Context, planning, running
from segport.manage.planning import plan
from segport.model import Export
from segport.secrets import MemoryStore
from segport.tui.screens.home import HomeScreen
from segport.tui.screens.plan_view import PlanView
from segport.tui.screens.run_panel import RunPanel
from segport.workspace import Workspace

CONNECTION, PROFILES = SANDBOX_CONNECTION, PROFILES_300
NOWHERE = "http://127.0.0.1:9/"  # a plan never calls the platform; a run here cannot connect
NEWSLETTER = Export("Newsletter", "iterable", ("Everyone", "Big spenders"),
                    {"email": "e_mail", "first_name": "given_name"}, connection=CONNECTION)
ONE = replace(NEWSLETTER, segments=("Everyone",))
MIRROR = Export("Mirror", "iterable", ("Everyone", "Big spenders"), {"email": "e_mail"},
                connection=CONNECTION, mode="mirror")


def _workspace(root: Path, *exports: Export) -> tuple[MemoryStore, Context]:
    secrets = MemoryStore()
    build_workspace(root, secrets=secrets, connections={CONNECTION: ("iterable", False)},
                    base_urls={CONNECTION: NOWHERE}, exports=list(exports),
                    profiles=PROFILES)
    return secrets, Context(Workspace(root), user="ana", secrets=secrets)


def _delivered_then_narrowed(ctx: Context, export: str) -> None:
    """As if a run had delivered every segment to its list; then 'Everyone' is narrowed so a
    mirror run would remove two thirds of its list (the blast-radius guard's case)."""
    with plan(ctx, export) as made, Ledger.open(ctx.workspace.db_path) as ledger:
        run_id = ledger.start_run(export, "ana", CONNECTION, "ana")
        for segment in made.segments:
            for batch in made.changes(segment.name, "add"):
                ledger.record_batch(run_id, export, segment.name, f"list-{segment.name}",
                                    kind="add", accepted=[Delivered(c.contact.email,
                                                                    c.fingerprint)
                                                          for c in batch])
        ledger.finish_run(run_id, "succeeded", {})
    ctx.update(lambda c: replace(c, segments={**c.segments, "Everyone": replace(
        c.segments["Everyone"],
        where="lifetime_value > 500 OR profile_id IN ('P1', 'P299', 'P300')")}))


def _flat(app: Any) -> str:
    """The screen's words in one line (borders and wrapping left out)."""
    return " ".join(screen_text(app).replace("│", " ").split())


def _table(view: PlanView) -> dict[str, list[str]]:
    table = view.query_one("#plan-segments", DataTable)
    rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
    return {row[0]: row[1:] for row in rows}


def _expected(counts: Any) -> list[str]:
    return [f"{getattr(counts, k):,}" for k in ("read", "invalid", "duplicates", "adds",
                                               "updates", "unchanged", "removals")]


async def _planned(pilot: Any) -> PlanView:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PlanView), what="plan view")
    view: PlanView = pilot.app.screen
    await wait_for(pilot, lambda: view.finished, what="the plan to finish")
    await pilot.pause()
    return view


async def _plan_from_home(pilot: Any, *, settled: bool = True) -> PlanView:
    """Exports tab, first export, the plan key."""
    if settled:
        await settle(pilot)
    await pilot.press("2", "p")
    return await _planned(pilot)


async def test_plan_from_home_by_key_shows_what_the_domain_plans(tmp_path: Path) -> None:
    secrets, ctx = _workspace(tmp_path / "ws", NEWSLETTER)
    with plan(ctx, "Newsletter") as expected:
        segments = {s.name: _expected(s.counts) for s in expected.segments}
        totals = _expected(expected.totals)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _plan_from_home(pilot)
        assert view.error is None and view.outcome is not None
        assert _table(view) == {**segments, "All segments": totals}
        text = _flat(app)
        assert "Plan for export 'Newsletter' (upsert) — nothing is sent" in text
        assert "No guard refuses this run: 397 valid email addresses" in text
        assert "A run would send 397 rows (397 to add, 0 to update)" in text
        assert "keep back 2 (1 invalid, 1 duplicate)" in text
        # the samples, a tab per kind: emails with their details
        tabs = view.query_one("#plan-samples", TabbedContent)
        assert tabs.active == "samples-add"
        assert "To add (397)" in text and "Invalid (1)" in text and "Duplicates (1)" in text
        assert "p3@example.com" in text and "first_name=Ann" in text
        tabs.active = "samples-invalid"
        await pilot.pause()
        assert "not-an-email" in _flat(app) and "invalid email: no @" in _flat(app)
        tabs.active = "samples-duplicate"
        await pilot.pause()
        assert "duplicate of P1" in _flat(app)
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
    assert running.runs(ctx) == []  # a plan records no run


async def test_a_mirror_plan_tripping_the_blast_radius_guard_says_so(tmp_path: Path) -> None:
    secrets, ctx = _workspace(tmp_path / "ws", MIRROR)
    _delivered_then_narrowed(ctx, "Mirror")
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await _plan_from_home(pilot)
        assert view.outcome is not None
        assert [r.kind for r in view.outcome.refusals] == ["mass_removal"]
        assert _table(view)["Everyone"] == ["102", "1", "1", "0", "0", "100", "198"]
        text = _flat(app)
        assert "A run would be refused: nothing would be sent." in text
        assert ("Blast-radius guard (mass removal): This run would remove 198 of the 298 "
                "members segport delivered to the list of segment 'Everyone'") in text
        assert "offers to run allowing mass removal" in text
        assert view.query_one("#plan-samples", TabbedContent).active == "samples-remove"
        assert "p100@example.com" in text  # a member who left the segment
    assert len(running.runs(ctx)) == 1  # only the delivery made above


async def test_progress_while_planning_and_escape_stops_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from segport.engine.plan import PlanStopped

    release, ended = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def held_plan(ctx: Any, export: str, *, on_event: Any, should_stop: Any,
                  **kwargs: Any) -> Any:
        """Reports half of 'Everyone' read, waits, then plans for real (and is stopped)."""
        on_event(PlanStarted(export, "Everyone", 300))
        on_event(RowsRead("Everyone", 150, 1))
        release.wait(10)
        seen["should_stop"] = should_stop()
        try:
            return plan(ctx, export, on_event=on_event, should_stop=should_stop, **kwargs)
        except PlanStopped as exc:
            seen["stopped"] = exc
            raise
        finally:
            ended.set()

    monkeypatch.setattr(planning, "plan", held_plan)
    secrets, _ = _workspace(tmp_path / "ws", ONE)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2", "p")
        await wait_for(pilot, lambda: "150 of 300 profiles read" in _flat(app),
                       what="the progress")
        view = app.screen
        assert isinstance(view, PlanView) and not view.finished
        assert "Planning…" in _flat(app)
        assert _table(view)["Everyone"] == ["150", "1", "…", "…", "…", "…", "…"]
        assert view.query_one("#plan-run").disabled  # nothing to run from yet
        await pilot.press("escape")  # close while planning: the thread is asked to stop
        assert isinstance(app.screen, HomeScreen)
        release.set()
        await wait_for(pilot, ended.is_set, what="the planning thread to end")
    assert seen["should_stop"] is True and "stopped" in seen


async def test_plan_from_the_palette_then_run_now_opens_the_run_panel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def waiting_run(ctx: Any, prepared: Any, on_event: Any, *,
                          allow_mass_removal: bool = False) -> RunResult:
        on_event(RunStarted(1, "Newsletter", CONNECTION, "ana", ONE.segments))
        try:
            await asyncio.sleep(3600)
        finally:  # the app closes: the panel cancels the run
            on_event(RunFinished(RunResult(1, "Newsletter", "cancelled", {}, 0.0)))
        raise AssertionError("unreachable")

    monkeypatch.setattr(running, "run", waiting_run)
    secrets, _ = _workspace(tmp_path / "ws", ONE)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"plan news")
        await wait_for(pilot, lambda: "export: plan Newsletter" in screen_text(app),
                       what="the palette entry")
        await pilot.press("enter")
        view = await _planned(pilot)
        assert view.export.name == "Newsletter" and view.outcome is not None
        assert "Plan for export 'Newsletter' (upsert) — nothing is sent" in _flat(app)
        assert "r Run now" in _flat(app)  # the footer says how
        await pilot.click("#plan-run")
        await wait_for(pilot, lambda: isinstance(app.screen, RunPanel), what="the run panel")
        assert app.screen.export_name == "Newsletter"
        assert view not in app.screen_stack


async def _home_shown(pilot: Any) -> None:
    """Home has read its runs and tried its counts (which fail here: there is no source)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.home is not None and not app.home.reading_runs
                   and not app.home.counting, what="Home")


async def test_errors_are_notifications_not_tracebacks(tmp_path: Path) -> None:
    secrets, ctx = _workspace(tmp_path / "ws", ONE)
    ctx.update(lambda c: replace(c, source=None))
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _home_shown(pilot)
        view = await _plan_from_home(pilot, settled=False)
        assert view.outcome is None and "no profile source is configured" in (view.error or "")
        text = _flat(app)
        assert "Cannot plan 'Newsletter'" in text and "Could not plan" in text
        assert "Traceback" not in text and "Unexpected" not in text
        assert view.query_one("#plan-run").disabled
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
    # someone who may not manage the export is told so, and nothing opens
    bo = app_for(tmp_path / "ws", user="bo", secrets=secrets)
    async with bo.run_test(size=(120, 40), notifications=True) as pilot:
        await _home_shown(pilot)
        bo.action_plan_export("Newsletter")
        await wait_for(pilot, lambda: "You may not plan export 'Newsletter'" in _flat(bo),
                       what="the refusal")
        assert isinstance(bo.screen, HomeScreen)


def test_snapshot_of_a_finished_plan(snap_compare: Any, tmp_path: Path) -> None:
    secrets, ctx = _workspace(tmp_path / "ws", MIRROR)
    _delivered_then_narrowed(ctx, "Mirror")

    async def run_before(pilot: Any) -> None:
        await _plan_from_home(pilot)

    assert snap_compare(app_for(tmp_path / "ws", secrets=secrets), terminal_size=(120, 40),
                        run_before=run_before)
