"""Parallel: every child at once, or `concurrent` at a time."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable
from ostinato.decider.plans import ParallelPlan, Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import Parallel, Task


class ParallelFlowable(Flowable):
    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, Parallel)
        return ParallelPlan(enabled(task.tasks), task.concurrent)
