"""How a run's end is judged and reported: outcomes, exit codes, the progress fold."""

from __future__ import annotations

from segport.engine.events import (
    BatchAcknowledged,
    BatchSent,
    PlanFinished,
    PlanReady,
    RateLimited,
    RequestLogged,
    RowsRead,
    RunFinished,
    RunStarted,
)
from segport.engine.outcome import RunResult, decide
from segport.engine.progress import RunState


def test_a_clean_run_succeeds() -> None:
    assert decide({"read": 10, "adds": 10, "accepted": 10}) == ("succeeded", None)


def test_rows_kept_back_or_refused_are_never_a_success() -> None:
    for key in ("invalid", "duplicates", "rejected"):
        outcome, detail = decide({"accepted": 5, key: 2})
        assert outcome == "completed_with_rejections"
        assert detail is not None and f"2 {key}" in detail


def test_undelivered_rows_fail_the_run_and_say_to_run_again() -> None:
    outcome, detail = decide({"accepted": 5, "rejected": 1, "failed": 3})
    assert outcome == "failed"
    assert detail is not None and "3 row(s)" in detail and "again" in detail


def test_exit_codes_follow_the_cli_contract() -> None:
    codes = {o: RunResult(1, "x", o, {}, 0.0).exit_code
             for o in ("succeeded", "completed_with_rejections", "failed", "cancelled")}
    assert codes == {"succeeded": 0, "completed_with_rejections": 3, "failed": 1,
                     "cancelled": 130}


def test_run_state_folds_events_into_counters_rate_and_eta() -> None:
    now = [100.0]
    state = RunState(clock=lambda: now[0])
    state(RunStarted(7, "news", "conn", "ana", ("A", "B")))
    state(RowsRead("A", 50, 2))
    state(PlanReady("A", adds=30, updates=10, unchanged=5, removals=2, invalid=2,
                    duplicates=1))
    state(PlanReady("B", adds=8, updates=0, unchanged=0, removals=0, invalid=0))
    state(PlanFinished("news", {}, None, 1.0))
    assert state.stage == "sending" and state.work == 50 and state.eta() is None
    now[0] = 110.0
    state(BatchSent("A", "upsert", 40))
    state(BatchAcknowledged("A", accepted=37, rejected=2, failed=1))
    state(BatchAcknowledged("A", accepted=2, rejected=0, kind="remove"))
    state(RateLimited(3.0, "rate_limited"))
    state(RateLimited(0.5, "pace"))
    state(RequestLogged("POST", "/api/lists/subscribe", 200, 0.01))
    a = state.segment("A")
    assert (a.sent, a.accepted, a.rejected, a.failed, a.removed) == (40, 37, 2, 1, 2)
    assert state.settled == 42 and state.rate() == 4.2
    assert state.eta() == (50 - 42) / 4.2
    assert state.waits == {"rate_limited": 3.0, "pace": 0.5} and state.rate_limited == 1
    assert state.requests == 1
    result = RunResult(7, "news", "completed_with_rejections", {"accepted": 39}, 12.0)
    state(RunFinished(result))
    assert state.stage == "completed_with_rejections" and state.finished is result


def test_a_refused_plan_is_shown_as_refused() -> None:
    state = RunState()
    state(PlanFinished("news", {}, "too many removals", 0.5, ("mass_removal",)))
    assert state.stage == "refused" and state.refusal == "too many removals"
    assert state.refusal_kinds == ("mass_removal",)  # the run panel offers to allow it
