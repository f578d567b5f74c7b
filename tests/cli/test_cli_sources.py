"""Source and segments from the command line, with each bad input's clear error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clirunner import Cli


def test_source_show_and_segments(ready: Cli) -> None:
    shown = ready("source", "show", "--json", user="bo").json()
    assert shown["rows"] == 5 and shown["key"] == "profile_id"
    columns = {c["name"]: c for c in shown["columns"]}
    assert set(columns) == {"profile_id", "email", "first_name", "last_name", "country",
                            "lifetime_value"}
    assert columns["lifetime_value"]["samples"]
    listed = ready("segments", "list", "--json", user="bo").json()
    assert [(s["name"], s["members"]) for s in listed] == [("Big spenders", 2), ("Everyone", 5)]
    preview = ready("segments", "preview", "Big spenders", "--json", user="bo").json()
    assert sorted(r["profile_id"] for r in preview["rows"]) == ["P1", "P4"]
    table = ready("segments", "preview", "Big spenders", user="bo")
    assert table.code == 0 and "Dée" in table.stdout


def test_members_file_segment(ready: Cli, tmp_path: Path) -> None:
    members = tmp_path / "vip.csv"
    members.write_text("email\n  ANA@example.com\ndee@EXAMPLE.com\nnobody@example.com\n")
    r = ready("segments", "add", "VIP list", "--members", str(members), user="ana")
    assert r.code == 0, r.output
    preview = ready("segments", "preview", "VIP list", "--json", user="ana").json()
    assert sorted(r["profile_id"] for r in preview["rows"]) == ["P1", "P4"]


def test_bad_segments_get_clear_errors(ready: Cli) -> None:
    cases = {
        "lifetime_value >": "Segment 'Bad'",
        "lifetme_value > 5": "lifetme_value",
        "true; DROP TABLE profiles": "Segment 'Bad'",
    }
    for where, expected in cases.items():
        r = ready("segments", "add", "Bad", "--where", where, user="ana")
        assert r.code == 2, r.output
        assert expected in r.stderr
        assert "Traceback" not in r.output
    assert "Bad" not in {s["name"] for s in ready("segments", "list", "--json", user="ana").json()}


def test_segment_in_use_cannot_be_removed(ready: Cli) -> None:
    assert ready("segments", "remove", "Everyone", user="bo").code == 0
    r = ready("segments", "remove", "Everyone", user="bo")
    assert r.code == 2 and "No segment named 'Everyone'" in r.stderr


def test_contributor_may_not_change_the_source(ready: Cli, profiles_csv: Path) -> None:
    r = ready("source", "set", "files", str(profiles_csv), user="bo")
    assert r.code == 4 and "change the profile source" in r.stderr


def test_bad_sources_are_refused_and_the_old_one_kept(ready: Cli, tmp_path: Path) -> None:
    missing = ready("source", "set", "files", str(tmp_path / "nope.csv"), user="ana")
    assert missing.code == 2 and "nope.csv" in missing.stderr
    nokey = tmp_path / "nokey.csv"
    nokey.write_text("name,mail\nA,a@x.io\n")
    r = ready("source", "set", "files", str(nokey), user="ana")
    assert r.code == 2 and "--key COLUMN" in r.stderr
    r = ready("source", "set", "files", str(nokey), "--key", "ident", user="ana")
    assert r.code == 2 and "ident" in r.stderr
    assert ready("source", "show", "--json", user="ana").json()["rows"] == 5


def test_sqlite_source(ready: Cli, tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE people (customer_id TEXT, email TEXT, lifetime_value REAL)")
        con.executemany("INSERT INTO people VALUES (?, ?, ?)",
                        [(f"C{i}", f"p{i}@example.com", i * 100.0) for i in range(10)])
    r = ready("source", "set", "sqlite", str(db), "--table", "people", user="ana")
    assert r.code == 0, r.output
    assert "key column 'customer_id'" in r.stderr
    listed = ready("segments", "list", "--json", user="ana").json()
    assert {s["name"]: s["members"] for s in listed} == {"Big spenders": 4, "Everyone": 10}
    r = ready("source", "set", "sqlite", str(db), "--table", "nope", user="ana")
    assert r.code == 2 and "people" in r.stderr
