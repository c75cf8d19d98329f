"""Switch: render `value` once, run the matching case (or `defaults`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ostinato.decider.flowables.base import Flowable
from ostinato.decider.plans import Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import Switch, Task

if TYPE_CHECKING:
    from ostinato.decider.engine import Decider

DEFAULTS = "\x00defaults"


class SwitchFlowable(Flowable):
    def begin(self, d: Decider, run: TaskRun, task: Task) -> None:
        assert isinstance(task, Switch)
        rendered = d.render_or_fail(run, task, task.value)
        if rendered is None:
            return
        value = str(rendered)
        if value in task.cases:
            run.progress["case"] = value
        elif task.defaults:
            run.progress["case"] = DEFAULTS
        else:
            d.fail_run(run, f"Switch `{task.id}`: no case matches `{value}` and there are no defaults")
            return
        run.outputs = {"value": value, "defaults": run.progress["case"] == DEFAULTS}
        d.start_phase(run, "tasks")

    def plan(self, run: TaskRun, task: Task) -> Plan:
        assert isinstance(task, Switch)
        case = run.progress["case"]
        return Plan(enabled(task.defaults if case == DEFAULTS else task.cases[case]))
