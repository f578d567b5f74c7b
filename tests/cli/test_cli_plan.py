"""`segport plan EXPORT`: a dry run over the real source, writing nothing."""

from __future__ import annotations

from cli_setup import with_connections
from clirunner import Cli


def snapshot(cli: Cli) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in cli.workspace.rglob("*") if p.is_file()
            and not p.name.endswith(".lock")}


def test_plan_counts_invalid_and_adds_and_writes_nothing(ready: Cli) -> None:
    with_connections(ready)
    r = ready("exports", "add", "--name", "All", "--connection", "SG shared", "--segment",
              "Everyone", "--segment", "Big spenders", "--map", "email=email", "--map",
              "first_name=first_name", "--list-id", "l", user="ana")
    assert r.code == 0, r.output
    before = snapshot(ready)
    summary = ready("plan", "All", "--json", user="bo").json()
    everyone, big = summary["segments"]
    # P3 has an invalid email, P5 none; P1 and P4 are also in "Big spenders": duplicates there.
    assert (everyone["read"], everyone["invalid"], everyone["adds"]) == (5, 2, 3)
    assert (big["read"], big["duplicates"], big["adds"]) == (2, 2, 0)
    assert summary["totals"]["adds"] == 3 and summary["refusals"] == []
    emails = {s["email"] for s in everyone["samples"]["add"]}
    assert emails == {"ana@example.com", "bo@example.com", "dee@example.com"}
    table = ready("plan", "All", user="ana")
    assert table.code == 0 and "nothing sent" in table.stdout
    assert snapshot(ready) == before
    assert ready("plan", "Nope", user="ana").code == 2
