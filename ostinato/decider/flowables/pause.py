"""Pause: the task run waits PAUSED for a resume, a duration or a timeout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ostinato.decider.flowables.base import Flowable
from ostinato.execution.model import TaskRun
from ostinato.flow.durations import parse_duration
from ostinato.flow.tasks import Pause, Task

if TYPE_CHECKING:
    from ostinato.decider.engine import Decider

BEHAVIOR_STATES = {"WARN": "WARNING", "FAIL": "FAILED", "CANCEL": "CANCELLED"}


class PauseFlowable(Flowable):
    def begin(self, d: Decider, run: TaskRun, task: Task) -> None:
        assert isinstance(task, Pause)
        duration = task.pause_duration or task.delay
        timers: list[tuple[str, str]] = []
        for kind, raw in (("pause-duration", duration), ("pause-timeout", task.timeout)):
            if raw is None:
                continue
            rendered = d.render_or_fail(run, task, raw)
            if rendered is None:
                return
            timers.append((kind, str(rendered)))
        d.pause_run(run)
        for kind, text in timers:
            d.set_timer(kind, d.now + parse_duration(text), run)

    def on_timer(self, d: Decider, run: TaskRun, task: Task, kind: str) -> None:
        assert isinstance(task, Pause)
        if kind == "pause-timeout":
            d.fail_run(run, f"Pause `{task.id}` timed out after {task.timeout}")
        elif task.behavior == "RESUME":
            d.resume_run(run, {})
        else:
            d.end_paused_run(run, BEHAVIOR_STATES[task.behavior])

    def resume_outputs(self, task: Task, inputs: dict[str, object]) -> dict[str, object] | None:
        assert isinstance(task, Pause)
        if not task.on_resume:
            return None
        values = {i.id: inputs.get(i.id, i.defaults) for i in task.on_resume}
        return {"onResume": values}
