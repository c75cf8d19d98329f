"""Typed progress: where the flow, or a flowable task run, is in its lists of children,
plus what each flowable keeps (a ForEach's values, an If's branch, a Switch's case, a
Subflow's child execution).

Only the decider writes progress. `to_dict`/`from_dict` give the JSON the records carry
(`progressJson`); keys not set are left out, as before, and keys this version does not know
are kept as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ostinato.execution.states import StateType, state_of


class Phase(StrEnum):
    """The list of children a flowable (or the flow) is running, in the order they run."""

    TASKS = "tasks"
    ERRORS = "errors"
    FINALLY = "finally"
    AFTER = "after"  #: the flow's afterExecution
    DONE = "done"  #: nothing left to run


@dataclass(init=False)
class Progress:
    """Counters of the phase running: children running, the next lane, whether one failed
    and the worst state so far; the outcome of `tasks` (and errors) once known; for a Dag
    the nodes started and done.

    Built empty (`cls()`, then `from_dict` or the decider sets fields): the defaults are
    class attributes until a field is set, so an empty progress, which every runnable task
    run has, costs next to nothing to create."""

    phase: Phase | None = None
    #: False until a phase started: the counters are then left out of the JSON
    counting: bool = False
    running: int = 0
    next_lane: int = 0
    failed: bool = False
    worst: StateType = StateType.SUCCESS
    outcome: StateType | None = None
    #: a Dag's node ids done and lanes started (None for other flowables)
    done: list[str] | None = None
    started: list[int] | None = None
    #: keys this version does not know, kept as read
    extra: dict[str, Any] | None = None

    def enter(self, phase: Phase) -> None:
        """Start counting a new phase."""
        self.phase = phase
        self.counting = True
        self.running = 0
        self.next_lane = 0
        self.failed = False
        self.worst = StateType.SUCCESS

    @property
    def ended(self) -> bool:
        """Every phase has run (finally and afterExecution included)."""
        return self.phase is Phase.DONE

    def _put(self, out: dict[str, Any]) -> None:
        if self.phase is not None:
            out["phase"] = str(self.phase)
        if self.counting:
            out["running"] = self.running
            out["nextLane"] = self.next_lane
            out["failed"] = self.failed
            out["worst"] = str(self.worst)
        if self.done is not None:
            out["done"] = self.done
        if self.started is not None:
            out["started"] = self.started
        if self.outcome is not None:
            out["outcome"] = str(self.outcome)

    def _take(self, data: dict[str, Any], known: frozenset[str]) -> None:
        phase = data.get("phase")
        self.phase = None if phase is None else Phase(phase)
        self.counting = "running" in data
        self.running = data.get("running", 0)
        self.next_lane = data.get("nextLane", 0)
        self.failed = data.get("failed", False)
        self.worst = state_of(data.get("worst", StateType.SUCCESS))
        outcome = data.get("outcome")
        self.outcome = None if outcome is None else state_of(outcome)
        self.done = data.get("done")
        self.started = data.get("started")
        self.extra = {k: v for k, v in data.items() if k not in known} or None


_PROGRESS_KEYS = frozenset({"phase", "running", "nextLane", "failed", "worst", "outcome",
                            "done", "started"})


@dataclass(init=False)
class ExecutionProgress(Progress):
    """The flow's own progress, plus the task runs paused and whether a failure should
    retry the whole execution (a CREATE_NEW_EXECUTION retry)."""

    paused_runs: list[str] | None = None
    retry_execution: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`progressJson` of an execution header)."""
        out: dict[str, Any] = {}
        self._put(out)
        if self.paused_runs is not None:
            out["pausedRuns"] = self.paused_runs
        if self.retry_execution:
            out["retryExecution"] = True
        if self.extra:
            out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ExecutionProgress:
        """The progress of its JSON form (an empty one for None)."""
        progress = cls()
        if data:
            progress._take(data, _EXECUTION_KEYS)
            progress.paused_runs = data.get("pausedRuns")
            progress.retry_execution = bool(data.get("retryExecution", False))
        return progress


_EXECUTION_KEYS = _PROGRESS_KEYS | {"pausedRuns", "retryExecution"}


@dataclass(init=False)
class TaskRunProgress(Progress):
    """A task run's progress: a flowable's counters and what it rendered once (values,
    branch, case); a Subflow's child execution id. Empty for other runnable tasks."""

    #: a ForEach's rendered values: kept by the executor for itself, never published
    values: list[Any] | None = None
    #: an If's branch: "then" or "else"
    branch: str | None = None
    #: a Switch's case (or its marker for `defaults`)
    case: str | None = None
    #: a waiting Subflow's child execution id
    child_execution_id: str | None = None

    def to_dict(self, *, internal: bool = True) -> dict[str, Any]:
        """The JSON form (`progressJson` of a task run); `internal=False` leaves out what
        the executor keeps for itself (`internal_dict`)."""
        out: dict[str, Any] = {}
        if internal and self.values is not None:
            out["values"] = self.values
        if self.branch is not None:
            out["branch"] = self.branch
        if self.case is not None:
            out["case"] = self.case
        self._put(out)
        if self.child_execution_id is not None:
            out["childExecutionId"] = self.child_execution_id
        if self.extra:
            out.update(self.extra)
        return out

    def internal_dict(self) -> dict[str, Any]:
        """What the executor keeps for itself and never publishes (a ForEach's values)."""
        return {} if self.values is None else {"values": self.values}

    def restore_internal(self, data: dict[str, Any]) -> None:
        """Put back what `internal_dict` gave."""
        if "values" in data:
            self.values = data["values"]

    def get(self, key: str, default: Any = None) -> Any:
        """A key of the JSON form: only for readers not yet moved to the typed fields
        (use `values` or `internal_dict()`)."""
        if key == "values":
            return self.values
        return self.to_dict().get(key, default)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TaskRunProgress:
        """The progress of its JSON form (an empty one for None)."""
        progress = cls()
        if data:
            progress._take(data, _TASK_RUN_KEYS)
            progress.values = data.get("values")
            progress.branch = data.get("branch")
            progress.case = data.get("case")
            progress.child_execution_id = data.get("childExecutionId")
        return progress


_TASK_RUN_KEYS = _PROGRESS_KEYS | {"values", "branch", "case", "childExecutionId"}
INTERNAL_KEYS = frozenset({"values"})


def ended_from_header(header: dict[str, Any]) -> bool:
    """Whether the execution of an `ExecutionHeader` (or `Execution`) record has ended:
    terminal, with its finally and afterExecution tasks done (`Execution.finished`)."""
    if not state_of(header["state"]["current"]).is_terminal:
        return False
    return ExecutionProgress.from_dict(json.loads(header["progressJson"])).ended
