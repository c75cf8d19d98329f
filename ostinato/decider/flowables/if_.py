"""If: render `condition` once, run `then` when truthy, else `else`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ostinato.decider.flowables.base import Flowable
from ostinato.decider.plans import Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.expressions import is_truthy
from ostinato.flow.tasks import If, Task

if TYPE_CHECKING:
    from ostinato.decider.engine import Decider


class IfFlowable(Flowable):
    def begin(self, d: Decider, run: TaskRun, task: Task) -> None:
        assert isinstance(task, If)
        condition = task.condition
        if isinstance(condition, bool):
            condition = "true" if condition else "false"
        rendered = d.render_or_fail(run, task, str(condition))
        if rendered is None:
            return
        run.progress["branch"] = "then" if is_truthy(str(rendered)) else "else"
        d.start_phase(run, "tasks")

    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, If)
        return Plan(enabled(task.then if run.progress["branch"] == "then" else task.else_))
