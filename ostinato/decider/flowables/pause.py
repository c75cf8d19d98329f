"""Pause: the task run waits PAUSED for a resume, a duration or a timeout."""

from __future__ import annotations

from typing import Any

from ostinato.decider.flowables.base import Flowable, FlowableFailure, Render, Wait
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType
from ostinato.flow.durations import parse_duration
from ostinato.flow.tasks import Pause, Task

BEHAVIOR_STATES = {"WARN": StateType.WARNING, "FAIL": StateType.FAILED,
                   "CANCEL": StateType.CANCELLED}


class PauseFlowable(Flowable):
    def begin(self, run: TaskRun, task: Task, render: Render) -> Wait | None:
        assert isinstance(task, Pause)
        duration = task.pause_duration or task.delay
        timers = []
        for kind, raw in (("pause-duration", duration), ("pause-timeout", task.timeout)):
            if raw is not None:
                timers.append((kind, parse_duration(str(render(raw)))))
        return Wait(timers)

    def on_timer(self, run: TaskRun, task: Task, kind: str) -> StateType | None:
        assert isinstance(task, Pause)
        if kind == "pause-timeout":
            raise FlowableFailure(f"Pause `{task.id}` timed out after {task.timeout}")
        if task.behavior == "RESUME":
            return None
        return BEHAVIOR_STATES[task.behavior]

    def resume_outputs(self, task: Task, inputs: dict[str, Any]) -> dict[str, Any] | None:
        assert isinstance(task, Pause)
        if not task.on_resume:
            return None
        values = {i.id: inputs.get(i.id, i.defaults) for i in task.on_resume}
        return {"onResume": values}
