"""Run history on Home, the run detail screen, attaching a detached export, keyboard focus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, DataTable, OptionList, Static
from tui_steps import ACCOUNT
from tui_support import (
    PROFILES,
    app_for,
    build_workspace,
    record_run,
    screen_text,
    settle,
    wait_for,
)

from segport.engine.records import ApiCall
from segport.manage import Context
from segport.manage import running as engine
from segport.manage.connections import remove_connection, set_sharing
from segport.manage.exports import add_export, detach_export
from segport.model import Export
from segport.sandbox.defaults import DEMO_KEYS
from segport.secrets import MemoryStore
from segport.tui.screens import connect_step
from segport.tui.screens.attach import AttachModal
from segport.tui.screens.connection_wizard import ConnectionWizard
from segport.tui.screens.home import HomeScreen
from segport.tui.screens.run_detail import RunDetailScreen
from segport.workspace import Workspace

CONNS = {"Iterable – EU newsletter": ("iterable", True), "SendGrid – private": ("sendgrid", False)}
NEWSLETTER = Export("Newsletter", "iterable", ("Everyone",), {"email": "e_mail"},
                    connection="Iterable – EU newsletter")
PRIVATE = Export("Private", "sendgrid", ("Big spenders",), {"email": "e_mail"},
                 connection="SendGrid – private", list_id="L1")
CALLS = (ApiCall("GET", "/v3/marketing/lists", 200, 0.1),
         ApiCall("PUT", "/v3/marketing/contacts", 429, 0.1),
         ApiCall("PUT", "/v3/marketing/contacts", 202, 0.1),
         ApiCall("GET", "/v3/marketing/contacts/imports/j1", 200, 0.1),
         ApiCall("GET", "/v3/marketing/contacts/imports/j1", 200, 0.1),
         ApiCall("GET", "/v3/marketing/contacts/imports/j1", None, 0.1))


def _rows(app: Any, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _history(root: Path) -> tuple[int, int]:
    """An old Newsletter run that went well, then a Private one with rejections."""
    first = record_run(root, "Newsletter", counts={"read": 5, "accepted": 5, "sent": 5},
                       segments={"Everyone": {"read": 5, "adds": 5, "sent": 5, "accepted": 5}})
    rejected = root / "runs" / "2-Private" / "rejected.csv"
    rejected.parent.mkdir(parents=True)
    rejected.write_text("segment,key,email,stage,reason\n", encoding="utf-8")
    second = record_run(
        root, "Private", outcome="completed_with_rejections", connection="SendGrid – private",
        connection_type="sendgrid", started="2025-03-05T16:40:00.000+00:00",
        finished="2025-03-05T16:42:05.000+00:00", duration=125.0,
        counts={"read": 2, "invalid": 1, "accepted": 1, "rejected": 0, "sent": 1},
        segments={"Big spenders": {"read": 2, "invalid": 1, "adds": 1, "sent": 1,
                                   "accepted": 1}},
        detail="Rows kept back or refused: 1 invalid.", rejected_file=str(rejected),
        calls=CALLS)
    return first, second


async def _open_detail(pilot: Any, app: Any, *keys: str) -> str:
    """Press ``keys`` on the runs table; the run detail they open, as text, once loaded."""
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.loaded,
                   what="the run detail")
    await pilot.pause()
    return screen_text(app)


def _with_history(tmp_path: Path) -> tuple[Path, Any]:
    """A workspace with both exports and :func:`_history`'s two runs, and an app on it."""
    root = tmp_path / "ws"
    build_workspace(root, connections=CONNS, exports=[NEWSLETTER, PRIVATE])
    _history(root)
    return root, app_for(root)


async def test_runs_tab_last_run_column_and_run_details(tmp_path: Path,
                                                       frozen_clock: Any) -> None:
    root, app = _with_history(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        assert _rows(app, "#runs-table") == [
            ["2", "Private", "today 16:40", "ana", "SendGrid – private",
             "completed with rejections", "1", "0 / 1", "2m 05s"],
            ["1", "Newsletter", "Mar 4 09:15", "ana", "Iterable – EU newsletter",
             "succeeded", "5", "0 / 0", "3.2 s"],
        ]
        assert "newest first" in screen_text(app)
        # the tab's key put the focus in its table: Enter on a run opens its details
        assert app.focused is app.screen.query_one("#runs-table")
        text = await _open_detail(pilot, app, "enter")  # the newest run: Private
        assert "Run 2 of 'Private' — completed with rejections" in text
        assert "Rows kept back or refused: 1 invalid." in text
        for line in ("Run by         ana", "Started        2025-03-05 16:40:00",
                     "Finished       2025-03-05 16:42:05", "Duration       2 min 05 s",
                     "Connection     SendGrid – private (SendGrid)", "Export user    ana",
                     "Rejected rows  ws/runs/2-Private/rejected.csv"):
            assert line in text, line
        # read, invalid, dupes, adds, updates, removals, unchanged; then sent, accepted,
        # rejected, failed, removed
        assert _rows(app, "#run-planned") == [["Big spenders", "2", "1", "0", "1", "0", "0", "0"]]
        assert _rows(app, "#run-sent") == [["Big spenders", "1", "1", "0", "0", "0"]]
        assert _rows(app, "#run-calls") == [
            ["GET /v3/marketing/lists 200", "1"], ["PUT /v3/marketing/contacts 429", "1"],
            ["PUT /v3/marketing/contacts 202", "1"],
            ["GET /v3/marketing/contacts/imports/j1 200", "2"],
            ["GET /v3/marketing/contacts/imports/j1 error", "1"]]
        assert "API calls (6 in all)" in text
        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
        text = await _open_detail(pilot, app, "down", "enter")  # the older run
        assert "Run 1 of 'Newsletter' — succeeded" in text
        assert "none: no row was kept back or refused" in text
        assert "API calls: none recorded" in text
        await pilot.press("escape")
        # the Exports tab: each export's latest run, and when
        await pilot.press("2")
        assert [(r[0], r[5]) for r in _rows(app, "#exports-table")] == [
            ("Newsletter", "succeeded · 2025-03-04"),
            ("Private", "completed with rejections · 17 min ago"),
        ]
        # a run finishes while Home is open (the run panel then calls refresh_home)
        record_run(root, "Newsletter", outcome="failed", started="2025-03-05T16:58:00+00:00",
                   finished="2025-03-05T16:58:30+00:00", detail="Iterable is unreachable.")
        app.refresh_home()
        await settle(pilot)
        assert _rows(app, "#exports-table")[0][5] == "failed · 1 min ago"
        assert _rows(app, "#runs-table")[0][:2] == ["3", "Newsletter"]


async def test_a_new_run_takes_the_runs_cursor_a_refresh_alone_keeps_it(
        tmp_path: Path, frozen_clock: Any) -> None:
    root, app = _with_history(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4", "down")  # the older run, run 1
        table = app.screen.query_one("#runs-table", DataTable)

        def selected() -> str | None:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

        assert selected() == "1"
        await pilot.press("f5")  # nothing new: the selection stays
        await settle(pilot)
        assert selected() == "1"
        third = record_run(root, "Newsletter", counts={"read": 5, "unchanged": 5})
        await pilot.press("f5")
        await wait_for(pilot, lambda: table.row_count == 3, what="the new run")
        assert selected() == str(third)  # the newest run, at the top, is the one selected


async def test_a_contributor_sees_only_the_runs_of_exports_they_may_see(tmp_path: Path,
                                                                      utc: None) -> None:
    root = tmp_path / "ws"
    build_workspace(root, connections=CONNS, exports=[NEWSLETTER, PRIVATE])
    _history(root)
    app = app_for(root, user="bo")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        assert [r[1] for r in _rows(app, "#runs-table")] == ["Newsletter"]
        assert "Private" not in screen_text(app)


async def test_a_real_run_shows_on_home_and_in_its_details(tmp_path: Path, sandbox: Any,
                                                         utc: None) -> None:
    """An export run in-process against the sandbox: the records are the engine's own."""
    sandbox.configure("iterable", {"subscribe_rate": {"rate": 1000, "burst": 1000},
                                   "new_list_delay": 0.0})
    root, secrets = tmp_path / "ws", MemoryStore()
    build_workspace(root, secrets=secrets, exports=[NEWSLETTER],
                    connections={"Iterable – EU newsletter": ("iterable", True)},
                    base_urls={"Iterable – EU newsletter": sandbox.base_url("iterable")},
                    keys={"Iterable – EU newsletter": DEMO_KEYS["iterable"]},
                    profiles=PROFILES + "P6,not-an-email,Fay,Fox,DE,BE,Berlin,10115,5\n")
    ctx = Context(Workspace(root), user="ana", secrets=secrets)
    result = await engine.run(ctx, engine.prepare(ctx, "Newsletter"))
    assert result.outcome == "completed_with_rejections"
    app = app_for(root, secrets=secrets)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert _rows(app, "#exports-table")[0][5] == "completed with rejections · just now"
        await pilot.press("4")
        row = _rows(app, "#runs-table")[0]
        assert row[:2] == [str(result.run_id), "Newsletter"]
        assert row[5:8] == ["completed with rejections", "5", "0 / 1"]
        text = await _open_detail(pilot, app, "enter")
        assert f"Rejected rows  {Path(result.rejected_file or '').relative_to(tmp_path)}" in text
        calls = dict(_rows(app, "#run-calls"))
        assert any(c.startswith("POST /api/lists/subscribe 200") for c in calls), calls
        assert DEMO_KEYS["iterable"] not in text


LONG = "Customers who bought twice in the last ninety days and opened every newsletter"


@pytest.mark.parametrize("width", [120, 80])
async def test_run_detail_counts_fit_the_screen_with_long_segment_names(
        tmp_path: Path, width: int) -> None:
    root = tmp_path / "ws"
    build_workspace(root, connections=CONNS, exports=[NEWSLETTER])
    big = {"read": 150_000, "adds": 149_000, "unchanged": 1_000, "sent": 149_000,
           "accepted": 148_998, "rejected": 2}
    run_id = record_run(root, "Newsletter", counts=big,
                        segments={LONG: big, "Everyone": {"read": 5, "adds": 5}})
    app = app_for(root)
    async with app.run_test(size=(width, 40)) as pilot:
        await settle(pilot)
        screen = RunDetailScreen(run_id)
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.loaded, what="the run detail")
        await pilot.pause()
        text = screen_text(app)
        for table_id in ("#run-planned", "#run-sent"):
            table = screen.query_one(table_id, DataTable)
            assert table.region.right <= width and table.max_scroll_x == 0, (table_id, text)
            assert table.get_cell(LONG, "segment").plain == LONG  # the name is kept whole
            assert table.rows[LONG].height > 1  # and wraps, shown in full
        assert all(word in text for word in LONG.split())
        assert "150,000" in text and "148,998" in text


# -- attach -------------------------------------------------------------------------------------

async def test_attach_a_detached_export(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    conns = {**CONNS, "Iterable – US": ("iterable", False)}
    build_workspace(root, connections=conns, exports=[NEWSLETTER])
    detach_export(Context(Workspace(root), user="ana", secrets=MemoryStore()), "Newsletter")
    app = app_for(root)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        assert "No runs yet" in screen_text(app)
        assert not app.screen.query_one("#runs-table").display
        await pilot.press("2")
        assert [(r[1], r[5]) for r in _rows(app, "#exports-table")] == [("(detached)", "never")]
        assert app.screen.query_one("#detach-export", Button).disabled
        # the button opens the modal; Escape changes nothing
        await wait_for(pilot, lambda: app.screen.query_one("#attach-export").region)
        await pilot.click("#attach-export")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachModal), what="the modal")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        # from the palette: only the Iterable connections are offered
        await pilot.press("ctrl+p", *"attach news")
        await wait_for(pilot, lambda: "export: attach Newsletter" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachModal), what="the modal")
        options = app.screen.query_one(OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in
                range(options.option_count)] == ["Iterable – EU newsletter", "Iterable – US"]
        assert Workspace(root).load().exports["Newsletter"].connection is None
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: Workspace(root).load().exports["Newsletter"].connection
                       == "Iterable – US", what="the export to be attached")
        await wait_for(pilot, lambda: _rows(app, "#exports-table")[0][1] == "Iterable – US",
                       what="Home to refresh")
        assert not app.screen.query_one("#run-export", Button).disabled
        assert app.screen.query_one("#attach-export", Button).disabled
        assert any("attached to 'Iterable – US'" in n.message for n in app._notifications)
    assert "Iterable – US" in (root / "segport.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("who", ["ana", "bo"])
async def test_attach_says_why_when_no_connection_fits(tmp_path: Path, who: str) -> None:
    root = tmp_path / "ws"
    build_workspace(root, connections=CONNS)
    ana = Context(Workspace(root), user="ana", secrets=MemoryStore())
    bo = Context(Workspace(root), user="bo", secrets=MemoryStore())
    add_export(bo, NEWSLETTER)  # bo's own export, on the connection shared with him
    detach_export(bo, "Newsletter")
    if who == "ana":  # no Iterable connection left at all
        remove_connection(ana, "Iterable – EU newsletter")
        why = ("There is no Iterable connection in this workspace. Add one (Home → "
               "Connections → Add connection), then attach 'Newsletter' to it.")
    else:  # one exists, but it is no longer shared with contributors
        set_sharing(ana, "Iterable – EU newsletter", False)
        why = ("The Iterable connections in this workspace are not shared with contributors. "
               "Ask an administrator (ana) to share one")
    app = app_for(root, user=who)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_attach_export("Newsletter")
        await wait_for(pilot, lambda: isinstance(app.screen, AttachModal), what="the modal")
        await pilot.pause()
        assert "No Iterable connection is available to you" in screen_text(app)
        assert why in str(app.screen.query_one("#attach-why-none", Static).content)
        await pilot.press("enter")  # Close has the focus
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert Workspace(root).load().exports["Newsletter"].connection is None


# -- keyboard -----------------------------------------------------------------------------------

async def test_privacy_and_export_user_checkboxes_take_the_focus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys only, no clicks: Space ticks the checkbox as soon as each step is entered."""
    async def validate(draft: Any, key: str) -> Any:
        return ACCOUNT

    monkeypatch.setattr(connect_step, "validate_key", validate)
    build_workspace(tmp_path / "ws")
    app = app_for(tmp_path / "ws")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c", "down", "enter", "ctrl+n")  # SendGrid
        await pilot.press("S", "G", "enter")  # the name field has the focus; Enter is Next
        await pilot.press("k", "1", "enter")  # the key (Connect is stubbed)
        wizard = app.screen
        assert isinstance(wizard, ConnectionWizard) and wizard.step.TITLE == "Data privacy"
        agree = wizard.query_one("#conn-agree", Checkbox)
        assert app.focused is agree and not agree.value
        await pilot.press("space")
        assert agree.value
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: wizard.check_action("next", ()) is True, what="Connect")
        await pilot.press("ctrl+n")
        assert wizard.step.TITLE == "Export user"
        me = wizard.query_one("#conn-export-user", Checkbox)
        assert app.focused is me and not me.value
        await pilot.press("space")
        assert me.value
        await pilot.press("ctrl+n")
        assert wizard.step.TITLE == "Save"
        # back again: the focus returns to the (ticked) checkbox, and Space would untick it
        await pilot.press("ctrl+b")
        assert app.focused is me and me.value
        await pilot.press("ctrl+b", "ctrl+b")
        assert wizard.step.TITLE == "Data privacy" and app.focused is agree
