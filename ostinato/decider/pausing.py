"""Pause: a task run waits PAUSED (and so the execution) until a resume or a timer."""

from __future__ import annotations

from typing import Any

from ostinato.decider.base import DeciderBase
from ostinato.decider.flowables import flowable_for
from ostinato.execution.model import TaskRun
from ostinato.execution.progress import Phase
from ostinato.execution.states import StateType
from ostinato.protocol import events as ev


class Pausing(DeciderBase):
    def pause_run(self, run: TaskRun) -> None:
        run.state.move(StateType.PAUSED, self.now)
        progress = self.ex.progress
        if progress.paused_runs is None:
            progress.paused_runs = []
        progress.paused_runs.append(run.id)
        self.ex.state.move(StateType.PAUSED, self.now)

    def forget_paused(self, run: TaskRun) -> None:
        paused = self.ex.progress.paused_runs or []
        if run.id in paused:
            paused.remove(run.id)
        if not paused and self.ex.state.current.is_paused:
            self.ex.state.move(StateType.RUNNING, self.now)

    def resume_run(self, run: TaskRun, inputs: dict[str, Any]) -> None:
        task = self.flow.task(run.task_id)
        self.cancel_timers_of(run)
        self.forget_paused(run)
        run.state.move(StateType.RUNNING, self.now)
        outputs = flowable_for(task).resume_outputs(task, inputs)
        if outputs is not None:
            run.outputs = outputs
        self.start_phase(run, Phase.TASKS)

    def on_resume(self, event: ev.Resume) -> None:
        """Resume the paused task run named, or every paused one."""
        if event.task_run_id is not None:
            run = self.ex.find(event.task_run_id)
            targets = [run] if run is not None else []
        else:
            targets = [self.ex.run(i) for i in self.ex.progress.paused_runs or []]
        for run in targets:
            if run.state.current.is_paused:
                self.touched[run.id] = None
                self.resume_run(run, event.inputs)
