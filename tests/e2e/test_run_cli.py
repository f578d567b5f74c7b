"""The CLI contract of ``segport run`` and ``segport runs``: the real binary, the real keyring,
the sandbox over real HTTP.

The workspace is built in-process through the domain calls the CLI makes (the connection's key
goes to the real Secret Service); every run goes through the ``segport`` binary.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import DIRT, Setup, new_key, new_setup, population

from clirunner import Cli, Result
from segport.manage.exports import detach_export
from segport.manage.running import runs
from segport.model import DestinationType
from segport.sandbox.server import Sandbox
from segport.secrets import connection_entry, default_store

RESULT_KEYS = {"run_id", "export", "outcome", "exit_code", "duration", "counts", "detail",
               "rejected_file", "segments"}
RECORD_KEYS = {"id", "export", "who", "connection", "export_user", "started_at", "finished_at",
               "counts", "outcome", "detail", "rejected_file", "segments", "duration",
               "connection_type", "exit_code"}


@pytest.fixture
def ready(cli: Cli, fast_sandbox: Sandbox, clean_keyring: Any,
          allow_key: Callable[[DestinationType, str], None]) -> tuple[Cli, Setup]:
    """A workspace on the CLI's folder: 40 clean profiles plus the dirt, segments "Clean" (the
    40) and "US" (10 of them plus the dirt), an Iterable connection whose key is in the keyring."""
    key = new_key("iterable")
    allow_key("iterable", key)
    setup = new_setup("iterable", cli.workspace, fast_sandbox, key, default_store(),
                      population(40) + DIRT)
    assert clean_keyring.items()[connection_entry("Sandbox")] == key  # the real keyring
    setup.segment("Clean", "id LIKE 'P%'")
    setup.segment("US", "country = 'US'")
    return cli, setup


def summary(result: Result) -> dict[str, Any]:
    """stdout as one JSON document (it must be nothing else)."""
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_run_prints_a_json_summary_and_exits_by_outcome(ready: tuple[Cli, Setup]) -> None:
    cli, setup = ready
    setup.export("clean", ["Clean"])
    setup.export("dirty", ["US"])

    done = cli("run", "clean", "--json", user="ana")
    assert done.code == 0, done.output
    (run,) = summary(done)["runs"]
    assert set(run) == RESULT_KEYS
    assert (run["export"], run["outcome"], run["exit_code"]) == ("clean", "succeeded", 0)
    assert run["counts"]["accepted"] == 40 and run["rejected_file"] is None
    assert run["segments"]["Clean"]["adds"] == 40 and run["duration"] > 0
    assert len(setup.members(setup.list_named("Clean"))) == 40
    # progress and the closing line go to stderr, never to stdout
    assert "Clean: 40 read" in done.stderr
    assert f"Run {run['run_id']} of 'clean': succeeded" in done.stderr

    both = cli("run", "clean", "dirty", "--json", user="ana")
    assert both.code == 3, both.output  # the worst of the two
    again, dirty = summary(both)["runs"]
    assert (again["outcome"], again["counts"]["unchanged"], again["counts"]["sent"]) == (
        "succeeded", 40, 0)
    assert (dirty["outcome"], dirty["exit_code"]) == ("completed_with_rejections", 3)
    assert (dirty["counts"]["invalid"], dirty["counts"]["duplicates"]) == (4, 2)
    assert dirty["rejected_file"]
    with open(dirty["rejected_file"], encoding="utf-8") as handle:
        assert handle.readline().strip() == "segment,key,email,stage,reason"
    assert "Rows kept back or refused" in both.stderr
    assert setup.key not in done.output + both.output


def test_refused_mass_removal_exits_1_until_allowed(ready: tuple[Cli, Setup]) -> None:
    cli, setup = ready
    setup.export("mirror", ["Clean"], mode="mirror")
    assert setup.run("mirror").outcome == "succeeded"  # in-process, with the keyring's key
    setup.write(population(30))  # 10 of 40 left: 25%

    refused = cli("run", "mirror", "--json", user="ana")
    assert refused.code == 1, refused.output
    (run,) = summary(refused)["runs"]
    assert (run["outcome"], run["exit_code"]) == ("failed", 1)
    assert "remove 10 of the 40" in run["detail"] and "allow mass removal" in run["detail"]
    assert "allow mass removal" in refused.stderr
    assert len(setup.members(setup.list_named("Clean"))) == 40
    assert setup.removal_requests() == 0

    allowed = cli("run", "mirror", "--allow-mass-removal", "--json", user="ana")
    assert allowed.code == 0, allowed.output
    assert summary(allowed)["runs"][0]["counts"]["removed"] == 10
    assert set(setup.members(setup.list_named("Clean"))) == {
        f"person{i:03d}@example.com" for i in range(30)}


def test_unknown_detached_and_forbidden_exports_exit_2_and_4(ready: tuple[Cli, Setup]) -> None:
    cli, setup = ready
    unknown = cli("run", "nope", "--json", user="ana")
    assert unknown.code == 2 and "No export named 'nope'" in unknown.stderr
    assert unknown.stdout == ""

    setup.export("detached", ["Clean"])
    detach_export(setup.ctx, "detached")
    detached = cli("run", "detached", "--json", user="ana")
    assert detached.code == 2 and "detached" in detached.stderr
    assert "segport exports attach" in detached.stderr

    # The connection is for administrators only (the default): contributor 'bo' may not run
    # an export on it, and nothing is sent or recorded.
    setup.export("admins", ["Clean"])
    forbidden = cli("run", "admins", "--json", user="bo")
    assert forbidden.code == 4, forbidden.output
    assert "Refused" in forbidden.stderr and forbidden.stdout == ""
    assert setup.upserts() == 0 and setup.lists() == []
    assert runs(setup.ctx) == []


def test_run_all_runs_only_exports_whose_schedule_is_on(ready: tuple[Cli, Setup]) -> None:
    cli, setup = ready
    setup.export("scheduled", ["Clean"], schedule=True)
    setup.export("manual", ["US"], schedule=False)
    result = cli("run", "--all", "--json", user="ana")
    assert result.code == 0, result.output
    assert [r["export"] for r in summary(result)["runs"]] == ["scheduled"]
    assert [lst["name"] for lst in setup.lists()] == ["Clean"]

    listed = cli("runs", "list", "--json", user="ana")
    assert listed.code == 0, listed.output
    (record,) = summary(listed)["runs"]
    assert set(record) == RECORD_KEYS
    assert (record["export"], record["who"], record["connection"], record["export_user"]) == (
        "scheduled", "ana", "Sandbox", "ana")
    assert (record["outcome"], record["exit_code"], record["connection_type"]) == (
        "succeeded", 0, "iterable")
    assert record["counts"]["accepted"] == 40 and record["duration"] > 0

    shown = cli("runs", "show", str(record["id"]), "--json", user="ana")
    assert shown.code == 0, shown.output
    detail = summary(shown)
    assert set(detail) == RECORD_KEYS | {"api_calls"}
    assert detail["segments"]["Clean"]["accepted"] == 40
    assert detail["api_calls"]["POST /api/lists/subscribe 200"] == 1
    assert detail["api_calls"]["POST /api/lists 200"] == 1
    assert setup.key not in shown.output + listed.output


def test_run_against_a_sandbox_that_is_not_running_says_to_start_it(
        cli: Cli, fast_sandbox: Sandbox, clean_keyring: Any) -> None:
    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    setup = new_setup("iterable", cli.workspace, fast_sandbox, new_key("iterable"),
                      default_store(), population(10), base_url=f"http://127.0.0.1:{port}")
    setup.segment("Everyone", "true")
    setup.export("news", ["Everyone"])

    result = cli("run", "news", "--json", user="ana")
    assert result.code == 1, result.output
    (run,) = summary(result)["runs"]
    assert run["outcome"] == "failed" and "could not be reached" in run["detail"]
    assert "segport sandbox" in run["detail"] and "segport sandbox" in result.stderr
    assert run["duration"] < 15  # told within seconds, not after minutes of retrying
    record = cli("runs", "show", str(run["run_id"]), "--json", user="ana").json()
    assert "segport sandbox" in record["detail"]  # the run record says it too
