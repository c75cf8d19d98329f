"""Typed states and progress read and write the same JSON as the strings and dicts they
replace; the header of an execution says whether it has ended."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ostinato.execution.model import Execution, State, TaskRun
from ostinato.execution.progress import (
    ExecutionProgress,
    Phase,
    TaskRunProgress,
    ended_from_header,
)
from ostinato.execution.states import StateType, state_of, worse


def test_a_state_is_its_name_in_json_and_comparisons() -> None:
    assert StateType.FAILED == "FAILED" and hash(StateType.FAILED) == hash("FAILED")
    assert json.dumps({"s": StateType.KILLED}) == '{"s": "KILLED"}'
    assert state_of("RETRYING") is StateType.RETRYING
    with pytest.raises(ValueError, match="not a state"):
        state_of("DONE")


def test_predicates_follow_kestra() -> None:
    terminal = {s for s in StateType if s.is_terminal}
    assert terminal == {StateType.SUCCESS, StateType.WARNING, StateType.FAILED, StateType.KILLED,
                        StateType.CANCELLED, StateType.SKIPPED, StateType.RETRIED}
    assert {s for s in StateType if s.is_failed} == {StateType.FAILED, StateType.KILLED,
                                                     StateType.CANCELLED}
    assert StateType.PAUSED.is_paused and not StateType.RUNNING.is_paused
    assert StateType.KILLING.is_killed and StateType.KILLING.is_running
    assert not StateType.QUEUED.is_running and StateType.QUEUED.is_queued


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("SUCCESS", "WARNING", "WARNING"), ("FAILED", "KILLED", "FAILED"),
    ("CANCELLED", "WARNING", "CANCELLED"), ("SKIPPED", "SUCCESS", "SKIPPED"),
    ("KILLED", "CANCELLED", "KILLED"),
])
def test_worse_orders_outcomes_by_severity(a: str, b: str, expected: str) -> None:
    assert worse(state_of(a), state_of(b)) == expected
    assert worse(state_of(b), state_of(a)).severity == state_of(expected).severity


def test_a_state_read_as_text_becomes_a_member() -> None:
    state = State.from_dict({"current": "PAUSED", "histories": [{"state": "PAUSED", "date": "d"}]})
    assert state.current is StateType.PAUSED and state.current.is_paused


EXECUTION_SHAPES: list[dict[str, Any]] = [
    {},
    {"phase": "done"},  # refused before it started
    {"phase": "done", "pausedRuns": []},  # killed while queued (written in the other order before)
    {"phase": "tasks", "running": 1, "nextLane": 1, "failed": False, "worst": "SUCCESS",
     "pausedRuns": ["a"]},
    {"phase": "after", "running": 0, "nextLane": 1, "failed": True, "worst": "FAILED",
     "outcome": "FAILED", "retryExecution": True},
    {"phase": "tasks", "running": 0, "nextLane": 0, "failed": False, "worst": "SUCCESS",
     "someday": {"a": 1}},  # a key of a later version is kept
]

TASK_RUN_SHAPES: list[dict[str, Any]] = [
    {},
    {"childExecutionId": "c1"},
    {"values": [1, None, "x"], "phase": "tasks", "running": 2, "nextLane": 2,
     "failed": False, "worst": "WARNING"},
    {"branch": "else", "phase": "finally", "running": 0, "nextLane": 1, "failed": False,
     "worst": "SUCCESS", "outcome": "WARNING"},
    {"case": "\x00defaults", "phase": "errors", "running": 1, "nextLane": 1, "failed": False,
     "worst": "SUCCESS", "outcome": "FAILED"},
    {"phase": "tasks", "running": 0, "nextLane": 4, "failed": False, "worst": "SUCCESS",
     "done": ["a", "b"], "started": [0, 1, 2, 3], "outcome": "SUCCESS"},
]


@pytest.mark.parametrize("shape", EXECUTION_SHAPES)
def test_execution_progress_gives_back_the_json_it_read(shape: dict[str, Any]) -> None:
    assert json.dumps(ExecutionProgress.from_dict(shape).to_dict()) == json.dumps(shape)


def test_progress_reads_keys_in_any_order() -> None:
    shape = {"pausedRuns": [], "phase": "done"}
    assert ExecutionProgress.from_dict(shape).to_dict() == shape


@pytest.mark.parametrize("shape", TASK_RUN_SHAPES)
def test_task_run_progress_gives_back_the_json_it_read(shape: dict[str, Any]) -> None:
    assert json.dumps(TaskRunProgress.from_dict(shape).to_dict()) == json.dumps(shape)


def test_the_published_progress_leaves_the_values_out() -> None:
    progress = TaskRunProgress.from_dict(TASK_RUN_SHAPES[2])
    assert "values" not in progress.to_dict(internal=False)
    assert progress.internal_dict() == {"values": [1, None, "x"]}
    published = TaskRunProgress.from_dict(progress.to_dict(internal=False))
    published.restore_internal(progress.internal_dict())
    assert published.to_dict() == progress.to_dict()


def test_a_phase_entered_starts_its_counters_again() -> None:
    progress = ExecutionProgress.from_dict(EXECUTION_SHAPES[4])
    progress.enter(Phase.FINALLY)
    assert progress.to_dict()["phase"] == "finally"
    assert (progress.running, progress.next_lane, progress.failed, progress.worst) == \
        (0, 0, False, StateType.SUCCESS)
    assert progress.outcome is StateType.FAILED, "the outcome of tasks is kept"


def test_a_model_built_from_json_progress_holds_it_typed() -> None:
    run = TaskRun("r", "e", "n", "f", "t", State(), progress={"branch": "then"})  # type: ignore[arg-type]
    execution = Execution("e", "n", "f", 1, State(), progress={"phase": "done"})  # type: ignore[arg-type]
    assert run.progress.branch == "then" and execution.progress.ended
    assert TaskRun.from_dict(run.to_dict()).progress == run.progress


def _header(state: str, progress: dict[str, Any]) -> dict[str, Any]:
    return {"state": {"current": state, "endDate": None}, "progressJson": json.dumps(progress)}


def test_the_header_says_whether_the_execution_ended() -> None:
    assert ended_from_header(_header("SUCCESS", {"phase": "done"}))
    assert not ended_from_header(_header("SUCCESS", {"phase": "after", "running": 1}))
    assert not ended_from_header(_header("RUNNING", {"phase": "tasks", "running": 1}))
    assert not ended_from_header(_header("KILLING", {"phase": "done"}))
