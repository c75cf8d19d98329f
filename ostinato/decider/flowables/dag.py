"""Dag: each task starts once every task it depends on has ended."""

from __future__ import annotations

from typing import Iterator

from ostinato.decider.flowables.base import Flowable
from ostinato.decider.plans import Plan
from ostinato.execution.model import TaskRun
from ostinato.execution.progress import Progress
from ostinato.flow.tasks import Dag, Task


class DagPlan(Plan):
    """Lane i is node i of the Dag; a lane starts once the nodes it depends on are done
    (the progress keeps the lanes started and the node ids done)."""

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

    def ready(self, done: set[str], started: set[int]) -> list[int]:
        return [
            lane for lane, task in enumerate(self._tasks)
            if lane not in started and self._depends[lane] <= done
        ]

    def enter(self, progress: Progress) -> None:
        progress.done = []
        progress.started = []

    def nexts(self, progress: Progress) -> Iterator[int]:
        assert progress.done is not None and progress.started is not None
        limit = self.limit() or self.lanes()
        progressed = True
        while progressed:
            progressed = False
            for lane in self.ready(set(progress.done), set(progress.started)):
                if progress.running >= limit:
                    break
                progress.started.append(lane)
                if self.tasks(lane):
                    yield lane
                else:  # a disabled node counts as done at once
                    progress.done.append(self._tasks[lane].id)
                    progressed = True
        progress.next_lane = len(progress.started)

    def after_child(self, progress: Progress, child: TaskRun) -> Task | None:
        assert progress.done is not None
        progress.done.append(child.task_id)
        return None


class DagFlowable(Flowable):
    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, Dag)
        return DagPlan(task)
