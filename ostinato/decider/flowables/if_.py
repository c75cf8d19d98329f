"""If: render `condition` once, run `then` when truthy, else `else`."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable, Render, Wait
from ostinato.decider.plans import Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.expressions import is_truthy
from ostinato.flow.tasks import If, Task


class IfFlowable(Flowable):
    def begin(self, run: TaskRun, task: Task, render: Render) -> Wait | None:
        assert isinstance(task, If)
        condition = task.condition
        if isinstance(condition, bool):
            condition = "true" if condition else "false"
        run.progress.branch = "then" if is_truthy(str(render(str(condition)))) else "else"
        return None

    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, If)
        return Plan(enabled(task.then if run.progress.branch == "then" else task.else_))
