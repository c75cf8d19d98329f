"""The interface of a flowable task's semantics: questions the decider asks, as Kestra's
`FlowableTask` answers `resolveNexts` and `resolveState`. A flowable never calls back into
the decider: it answers, and may keep what it rendered in its run's progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from ostinato.decider.plans import Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType
from ostinato.flow.tasks import Task

#: renders a value for the task run being asked about (raises ExpressionError)
Render = Callable[[Any], Any]


class FlowableFailure(Exception):
    """The flowable's task run fails, with this message in its logs."""


@dataclass(frozen=True)
class Wait:
    """Begin by waiting PAUSED, with timers (kind, delay from now) to wake it."""

    timers: list[tuple[str, timedelta]]


@dataclass(frozen=True)
class Again:
    """Run the `tasks` phase again once `delay` has passed (the run waits PAUSED)."""

    delay: timedelta


@dataclass(frozen=True)
class Stop:
    """End the flowable in `state` whatever its children did, logging `warning` (WARN)."""

    state: StateType | None
    warning: str | None = None


class Flowable:
    """Default semantics: run `tasks` in order, then `errors` on failure, then `finally`."""

    def begin(self, run: TaskRun, task: Task, render: Render) -> Wait | None:
        """Asked once the task run is RUNNING: render what must be rendered once (kept in
        the run's progress), then answer None to start the `tasks` phase, or `Wait`.
        Raises FlowableFailure (or ExpressionError) to fail the run."""
        return None

    def plan(self, run: TaskRun, task: Task) -> Plan:
        """The layout of the `tasks` phase (which lanes come next: `Plan.nexts`)."""
        return Plan(enabled(getattr(task, "tasks", [])))

    def outcome(self, task: Task, state: StateType) -> StateType:
        """The flowable's own state, given the resolved state of its children."""
        return state

    def on_timer(self, run: TaskRun, task: Task, kind: str) -> StateType | None:
        """A timer the flowable asked for (`Wait`) fired: None to resume the run, or the
        state it ends in. Raises FlowableFailure to fail the run."""
        raise LookupError(f"task `{task.id}` set no timer `{kind}`")

    def resume_outputs(self, task: Task, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The outputs of a paused run resumed with `inputs` (None: leave them)."""
        return None

    def again(self, run: TaskRun, task: Task, render: Render, now: datetime) -> Again | Stop | None:
        """Asked when the `tasks` phase ended without a failure: `Again` to run the tasks
        once more after a delay (a loop), `Stop` to end with a given state, or None to go
        on as usual. May update the run's outputs. Raises FlowableFailure to fail it."""
        return None
