"""Switch: render `value` once, run the matching case (or `defaults`)."""

from __future__ import annotations

from ostinato.decider.flowables.base import Flowable, FlowableFailure, Render, Wait
from ostinato.decider.plans import Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import Switch, Task

DEFAULTS = "\x00defaults"


class SwitchFlowable(Flowable):
    def begin(self, run: TaskRun, task: Task, render: Render) -> Wait | None:
        assert isinstance(task, Switch)
        value = str(render(task.value))
        if value in task.cases:
            case = value
        elif task.defaults:
            case = DEFAULTS
        else:
            raise FlowableFailure(
                f"Switch `{task.id}`: no case matches `{value}` and there are no defaults")
        run.progress.case = case
        run.outputs = {"value": value, "defaults": case == DEFAULTS}
        return None

    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, Switch)
        case = run.progress.case
        assert case is not None
        return Plan(enabled(task.defaults if case == DEFAULTS else task.cases[case]))
