"""ForEach, EachSequential and EachParallel: the tasks once per value."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ostinato.decider.flowables.base import Flowable
from ostinato.decider.plans import EachCrossPlan, EachPlan, Plan, enabled, java_text
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import EachParallel, EachSequential, ForEach, Task

if TYPE_CHECKING:
    from ostinato.decider.engine import Decider


def _values_of(task: Task) -> str | list[Any]:
    if isinstance(task, ForEach):
        return task.values
    assert isinstance(task, (EachSequential, EachParallel))
    return task.value


class ForEachFlowable(Flowable):
    """Values are rendered once, kept in the run's progress, and each one is a lane."""

    def begin(self, d: Decider, run: TaskRun, task: Task) -> None:
        values = self._render_values(d, run, task)
        if values is None:
            return
        nulls = sum(1 for v in values if v is None)
        if nulls:
            d.fail_run(run, f"Found '{nulls}' null values on Each, with values={java_text(values)}")
            return
        run.progress["values"] = values
        d.start_phase(run, "tasks")

    def _render_values(self, d: Decider, run: TaskRun, task: Task) -> list[Any] | None:
        raw = _values_of(task)
        if isinstance(raw, list):
            rendered = d.render_or_fail(run, task, raw)
            return rendered if rendered is None else list(rendered)
        text = d.render_or_fail(run, task, raw)
        if text is None:
            return None
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            d.fail_run(run, f"Unable to parse the values of `{task.id}` as a JSON array: {error}")
            return None
        if not isinstance(values, list):
            d.fail_run(run, f"The values of `{task.id}` must be a JSON array, got `{text}`")
            return None
        return values

    def plan(self, run: TaskRun, task: Task) -> Plan:
        tasks = enabled(getattr(task, "tasks"))
        values = run.progress["values"]
        if isinstance(task, EachParallel):
            return EachCrossPlan(tasks, values, task.concurrent)
        limit = task.concurrency_limit if isinstance(task, ForEach) else 1
        return EachPlan(tasks, values, limit)
