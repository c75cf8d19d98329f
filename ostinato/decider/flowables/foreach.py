"""ForEach, EachSequential and EachParallel: the tasks once per value."""

from __future__ import annotations

import json
from typing import Any

from ostinato.decider.flowables.base import Flowable, FlowableFailure, Render, Wait
from ostinato.decider.plans import EachCrossPlan, EachPlan, Plan, enabled, java_text
from ostinato.execution.model import TaskRun
from ostinato.flow.tasks import EachParallel, EachSequential, ForEach, Task


def _values_of(task: Task) -> str | list[Any]:
    if isinstance(task, ForEach):
        return task.values
    assert isinstance(task, (EachSequential, EachParallel))
    return task.value


class ForEachFlowable(Flowable):
    """Values are rendered once, kept in the run's progress, and each one is a lane."""

    def begin(self, run: TaskRun, task: Task, render: Render) -> Wait | None:
        values = self._rendered_values(task, render)
        nulls = sum(1 for v in values if v is None)
        if nulls:
            raise FlowableFailure(
                f"Found '{nulls}' null values on Each, with values={java_text(values)}")
        run.progress.values = values
        return None

    def _rendered_values(self, task: Task, render: Render) -> list[Any]:
        raw = _values_of(task)
        if isinstance(raw, list):
            return list(render(raw))
        text = render(raw)
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise FlowableFailure(
                f"Unable to parse the values of `{task.id}` as a JSON array: {error}") from None
        if not isinstance(values, list):
            raise FlowableFailure(f"The values of `{task.id}` must be a JSON array, got `{text}`")
        return values

    def plan(self, run: TaskRun, task: Task) -> Plan:
        tasks = enabled(getattr(task, "tasks"))
        values = run.progress.values
        assert values is not None
        if isinstance(task, EachParallel):
            return EachCrossPlan(tasks, values, task.concurrent)
        limit = task.concurrency_limit if isinstance(task, ForEach) else 1
        return EachPlan(tasks, values, limit)
