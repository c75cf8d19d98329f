"""Dag: each task starts once every task it depends on has ended."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable
from ostinato.decider.plans import Plan
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import Dag, Task


class DagPlan(Plan):
    """Lane i is node i of the Dag; `ready` names the lanes whose dependencies are met."""

    def __init__(self, task: Dag) -> None:
        super().__init__([node.task for node in task.tasks])
        self._depends = [set(node.depends_on) for node in task.tasks]
        self._concurrent = task.concurrent

    def lanes(self) -> int:
        return len(self._tasks)

    def limit(self) -> int:
        return self._concurrent

    def tasks(self, lane: int) -> list[Task]:
        task = self._tasks[lane]
        return [] if task.disabled else [task]

    def task_id(self, lane: int) -> str:
        return self._tasks[lane].id

    def ready(self, done: set[str], started: set[int]) -> list[int]:
        return [
            lane for lane, task in enumerate(self._tasks)
            if lane not in started and self._depends[lane] <= done
        ]


class DagFlowable(Flowable):
    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, Dag)
        return DagPlan(task)
