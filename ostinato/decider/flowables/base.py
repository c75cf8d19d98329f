"""The interface of a flowable task's semantics, resolved by the decider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ostinato.decider.plans import Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import Task

if TYPE_CHECKING:
    from ostinato.decider.engine import Decider


class Flowable:
    """Default semantics: run `tasks` in order, then `errors` on failure, then `finally`."""

    def begin(self, d: Decider, run: TaskRun, task: Task) -> None:
        """Called once the task run is RUNNING: prepare (render what must be), then start."""
        d.start_phase(run, "tasks")

    def plan(self, run: TaskRun, task: Task) -> Plan:
        """The layout of the `tasks` phase."""
        return Plan(enabled(getattr(task, "tasks", [])))

    def outcome(self, task: Task, state: str) -> str:
        """The flowable's own state, given the resolved state of its children."""
        return state
