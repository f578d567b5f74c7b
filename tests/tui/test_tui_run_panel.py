"""The run panel, driven as a person would: from Home's run key to the summary, against the
sandbox; Cancel mid-run; a refused mirror run and "Run allowing mass removal"; one snapshot."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button
from tui_support import (
    PROFILES_300,
    SANDBOX_CONNECTION,
    app_for,
    build_workspace,
    screen_text,
    settle,
    wait_for,
)

from segport.engine.events import (
    BatchAcknowledged,
    BatchSent,
    ListReady,
    PlanFinished,
    PlanReady,
    PlanStarted,
    RateLimited,
    RequestLogged,
    RowsRead,
    RunFinished,
    RunStarted,
)
from segport.engine.outcome import RunResult
from segport.engine.run import export_lock
from segport.manage import Context, running
from segport.model import Export
from segport.sandbox.defaults import DEMO_KEYS
from segport.secrets import MemoryStore
from segport.tui.screens.home import HomeScreen
from segport.tui.screens.modals import ConfirmModal
from segport.tui.screens.run_panel import RunPanel
from segport.workspace import Workspace

CONNECTION, PROFILES = SANDBOX_CONNECTION, PROFILES_300
EVERYONE, BIG = 298, 99  # valid, distinct addresses of each segment


def _workspace(root: Path, sandbox: Any, *exports: Export) -> MemoryStore:
    """A workspace whose Iterable connection goes to the sandbox (``sandbox``: its base URL
    if a string) with the demo key in the returned store."""
    secrets = MemoryStore()
    url = sandbox if isinstance(sandbox, str) else sandbox.base_url("iterable")
    build_workspace(root, secrets=secrets, connections={CONNECTION: ("iterable", False)},
                    base_urls={CONNECTION: url},
                    keys={CONNECTION: DEMO_KEYS["iterable"]}, exports=list(exports),
                    profiles=PROFILES)
    return secrets


def _fast(sandbox: Any) -> None:
    sandbox.configure("iterable", {"subscribe_rate": {"rate": 1000, "burst": 1000},
                                   "lists_rate": {"rate": 1000, "burst": 1000},
                                   "create_list_rate": {"rate": 1000, "burst": 1000},
                                   "new_list_delay": 0})


def _members(sandbox: Any) -> dict[str, int]:
    return {lst["name"]: len(lst["members"]) for lst in sandbox.state("iterable")["lists"]}


def _flat(app: Any) -> str:
    return " ".join(screen_text(app).split())


async def _run_from_home(pilot: Any) -> RunPanel:
    """Exports tab, first export, the run key: the panel opens."""
    await settle(pilot)
    await pilot.press("2", "r")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunPanel), what="run panel")
    return pilot.app.screen  # type: ignore[no-any-return]


async def _finished(pilot: Any, panel: RunPanel, timeout: float = 20.0) -> None:
    await wait_for(pilot, lambda: panel.finished, timeout, what="the run to finish")
    await pilot.pause()


async def test_run_from_home_shows_live_counts_then_the_summary(tmp_path: Path,
                                                               sandbox: Any) -> None:
    _fast(sandbox)
    export = Export("Newsletter", "iterable", ("Everyone", "Big spenders"),
                    {"email": "e_mail"}, connection=CONNECTION)
    secrets = _workspace(tmp_path / "ws", sandbox, export)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await _run_from_home(pilot)
        await _finished(pilot, panel)
        result = panel.result
        assert result is not None and result.outcome == "completed_with_rejections"
        # the engine's RunFinished carries the very result the run returned
        assert panel.driver is not None and panel.driver.state.finished is result
        text = _flat(app)
        assert f"Completed with rejections · run {result.run_id}" in text
        assert "Rows kept back or refused, with reasons: ws/runs/" in text
        assert text.count("rejected.csv") == 1 and Path(result.rejected_file or "").is_file()
        # the live rows: per segment read, invalid, duplicates, to add, sent, accepted
        table = {row[0]: row[1:] for row in _rows(panel)}
        assert table["Everyone"][:4] == ["300", "1", "1", f"{EVERYONE}"]
        assert table["Everyone"][8:] == [f"{EVERYONE}", "0", "0", "100%"]
        assert table["Big spenders"][:4] == [f"{BIG}", "0", "0", f"{BIG}"]
        assert table["All segments"][7:9] == [f"{EVERYONE + BIG}"] * 2  # sent, accepted
        assert "Waits, summed over requests:" in text and "API calls" in text
        assert "POST /api/lists/subscribe 200" in text  # the call log: path, status, ms
        assert DEMO_KEYS["iterable"] not in screen_text(app)
        await pilot.press("escape")  # back Home, which shows the run
        assert isinstance(app.screen, HomeScreen)
    assert _members(sandbox) == {"Everyone": EVERYONE, "Big spenders": BIG}
    record = running.runs(Context(Workspace(tmp_path / "ws"), user="ana", secrets=secrets))[0]
    assert (record.outcome, record.counts["accepted"]) == ("completed_with_rejections",
                                                           EVERYONE + BIG)


async def test_cancel_mid_run_stops_cleanly_and_records_it(tmp_path: Path,
                                                          sandbox: Any) -> None:
    _fast(sandbox)  # then the subscribe call hangs: the run is mid-send when we cancel
    sandbox.configure("iterable", {"faults": {"timeout_rate": 1.0, "hang_seconds": 30,
                                              "only": ["POST /api/lists/subscribe"]}})
    export = Export("Newsletter", "iterable", ("Everyone",), {"email": "e_mail"},
                    connection=CONNECTION)
    secrets = _workspace(tmp_path / "ws", sandbox, export)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await _run_from_home(pilot)
        await wait_for(pilot, lambda: "Sending" in _flat(app), what="sending")
        await pilot.press("c")
        assert panel.cancelling  # requested at once; the panel says "Cancelling…" meanwhile
        assert panel.driver is not None and not panel.driver.cancel()  # only once
        await _finished(pilot, panel)
        assert panel.result is not None and panel.result.outcome == "cancelled"
        text = _flat(app)
        assert f"Cancelled · run {panel.result.run_id}" in text
        assert "Cancelled by the user" in text
        await pilot.click("#panel-close")
        assert isinstance(app.screen, HomeScreen)
    record = running.runs(Context(Workspace(tmp_path / "ws"), user="ana", secrets=secrets))[0]
    assert record.outcome == "cancelled"
    assert _members(sandbox).get("Everyone", 0) == 0


async def test_a_refused_mirror_run_then_allowing_mass_removal(tmp_path: Path,
                                                              sandbox: Any) -> None:
    _fast(sandbox)
    export = Export("Mirror", "iterable", ("Everyone",), {"email": "e_mail"},
                    connection=CONNECTION, mode="mirror")
    secrets = _workspace(tmp_path / "ws", sandbox, export)
    ctx = Context(Workspace(tmp_path / "ws"), user="ana", secrets=secrets)
    first = await running.run(ctx, running.prepare(ctx, "Mirror"))  # delivers everyone
    assert first.outcome == "completed_with_rejections"
    ctx.update(lambda c: replace(c, segments={**c.segments, "Everyone": replace(
        c.segments["Everyone"], where="lifetime_value > 500")}))  # two thirds leave it
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await _run_from_home(pilot)
        await _finished(pilot, panel)
        text = _flat(app)
        assert "Refused before sending" in text and "Nothing was sent." in text
        assert f"would remove {EVERYONE - BIG} of the {EVERYONE} members" in text
        assert "Run allowing mass removal" in text
        refused = panel.result
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: panel.result is not refused and panel.finished,
                       timeout=20, what="the run allowing mass removal")
        await pilot.pause()
        assert panel.result is not None and panel.result.outcome == "succeeded"
        assert "Succeeded" in _flat(app) and f"{EVERYONE - BIG:,} removed" in _flat(app)
    assert _members(sandbox) == {"Everyone": BIG}
    outcomes = [r.outcome for r in running.runs(ctx)]
    assert outcomes == ["succeeded", "failed", "completed_with_rejections"]


async def test_a_run_that_cannot_start_says_why_on_home(tmp_path: Path, sandbox: Any) -> None:
    export = Export("Newsletter", "iterable", ("Everyone",), {"email": "e_mail"},
                    connection=CONNECTION)
    _workspace(tmp_path / "ws", sandbox, export)
    app = app_for(tmp_path / "ws", secrets=MemoryStore())  # no key in this store
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2", "r")
        await wait_for(pilot, lambda: "No key for connection" in _flat(app), what="the toast")
        assert "Cannot run 'Newsletter'" in _flat(app)
        assert isinstance(app.screen, HomeScreen)


async def test_an_export_already_running_elsewhere_is_said_plainly(tmp_path: Path) -> None:
    export = Export("Newsletter", "iterable", ("Everyone",), {"email": "e_mail"},
                    connection=CONNECTION)
    secrets = _workspace(tmp_path / "ws", "http://127.0.0.1:9/", export)
    app = app_for(tmp_path / "ws", secrets=secrets)
    with export_lock(Workspace(tmp_path / "ws").runs_dir, "Newsletter"):  # as `segport run`
        async with app.run_test(size=(120, 40)) as pilot:
            panel = await _run_from_home(pilot)
            await _finished(pilot, panel)
            text = _flat(app)
            assert "Failed: the run could not start" in text
            assert "already running in another segport process" in text
            assert "Traceback" not in text and "Unexpected" not in text


async def test_escape_cancels_saying_cancelling_at_once_then_the_outcome(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()  # the engine finishing its batches takes until this is set

    async def slow_run(ctx: Any, prepared: Any, on_event: Any, *,
                       allow_mass_removal: bool = False) -> RunResult:
        on_event(RunStarted(3, "Newsletter", CONNECTION, "ana", ("Everyone",)))
        on_event(PlanReady("Everyone", 5, 0, 0, 0, 0))
        on_event(PlanFinished("Newsletter", {}, None, 0.1))
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.to_thread(release.wait, 10)
        result = RunResult(3, "Newsletter", "cancelled", {}, 1.0, "Cancelled by the user.")
        on_event(RunFinished(result))
        return result

    monkeypatch.setattr(running, "run", slow_run)
    export = Export("Newsletter", "iterable", ("Everyone",), {"email": "e_mail"},
                    connection=CONNECTION)
    secrets = _workspace(tmp_path / "ws", "http://127.0.0.1:9/", export)
    app = app_for(tmp_path / "ws", secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await _run_from_home(pilot)
        await wait_for(pilot, lambda: "Sending" in _flat(app), what="sending")
        assert "esc Cancel run" in _flat(app)  # the footer says how
        await pilot.press("escape")
        await pilot.pause()
        assert panel.cancelling and not panel.finished
        assert "Cancelling…" in _flat(app)
        assert panel.query_one("#panel-cancel", Button).disabled
        await pilot.press("escape")  # asking again changes nothing, and does not close
        assert app.screen is panel
        release.set()
        await _finished(pilot, panel)
        assert "Cancelled · run 3" in _flat(app)
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)


def _rows(panel: RunPanel) -> list[list[str]]:
    from segport.tui.widgets.run_view import SegmentTable

    table = panel.query_one(SegmentTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


# -- the snapshot: a scripted run (fixed counts, waits and durations) ----------------------------

async def scripted_run(ctx: Any, prepared: Any, on_event: Any, *,
                       allow_mass_removal: bool = False) -> RunResult:
    """What the engine emits for a small two-segment run, with fixed numbers."""
    events: list[Any] = [RunStarted(7, "Newsletter", CONNECTION, "ana", ("Everyone",
                                                                        "Big spenders"))]
    for name, read, adds in (("Everyone", 300, 298), ("Big spenders", 100, 99)):
        events += [PlanStarted("Newsletter", name, read), RowsRead(name, read, 1, 1, True),
                   PlanReady(name, adds, 0, 0, 0, 1, 1)]
    events += [PlanFinished("Newsletter", {}, None, 0.4),
               RequestLogged("GET", "/api/lists", 200, 0.012)]
    for name, adds, list_id in (("Everyone", 298, "11"), ("Big spenders", 99, "12")):
        events += [RequestLogged("POST", "/api/lists", 200, 0.021), ListReady(name, list_id),
                   BatchSent(name, "upsert", adds), RateLimited(0.2, "pace"),
                   RequestLogged("POST", "/api/lists/subscribe", 429, 0.008),
                   RateLimited(1.0, "rate_limited"),
                   RequestLogged("POST", "/api/lists/subscribe", 200, 0.154, 2),
                   BatchAcknowledged(name, adds - 1, 1)]
    counts = {"accepted": 395, "rejected": 2, "invalid": 2, "duplicates": 2}
    rejected = str(ctx.workspace.runs_dir / "7" / "rejected.csv")
    detail = "Rows kept back or refused: 2 invalid, 2 duplicates, 2 rejected."
    result = RunResult(7, "Newsletter", "completed_with_rejections", counts, 2.5, detail,
                       rejected)
    events.append(RunFinished(result))
    for event in events:
        on_event(event)
    await asyncio.sleep(0)
    return result


def test_snapshot_of_a_finished_run(snap_compare: Any, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(running, "run", scripted_run)
    export = Export("Newsletter", "iterable", ("Everyone", "Big spenders"),
                    {"email": "e_mail"}, connection=CONNECTION)
    secrets = _workspace(tmp_path / "ws", "http://127.0.0.1:9/", export)  # never called

    async def run_before(pilot: Any) -> None:
        panel = await _run_from_home(pilot)
        await _finished(pilot, panel)

    assert snap_compare(app_for(tmp_path / "ws", secrets=secrets), terminal_size=(120, 40),
                        run_before=run_before)
