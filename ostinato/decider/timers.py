"""Timers firing: a scheduled start, a retry's delay, or a flowable's own wake-up."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.decider.flowables import FlowableFailure, flowable_for
from ostinato.execution.states import StateType
from ostinato.protocol import events as ev


class Timers(DeciderBase):
    def on_timer(self, event: ev.TimerFired) -> None:
        timer = self.ex.timers.pop(event.timer_id, None)
        if timer is None:
            return
        if timer.kind == "schedule":
            self.start_execution()
            return
        if timer.task_run_id is None:  # a MAX_DURATION SLA's deadline (sla.py)
            self.on_sla_timer(timer.kind)
            return
        run = self.ex.run(timer.task_run_id or "")
        if run.state.terminal:
            return
        self.touched[run.id] = None
        task = self.flow.task(run.task_id)
        if timer.kind == "retry":
            run.state.move(StateType.RUNNING, self.now)
            self.dispatch(run, task)
            return
        try:
            state = flowable_for(task).on_timer(run, task, timer.kind)
        except FlowableFailure as failure:
            self.fail_run(run, str(failure))
            return
        if state is None:
            self.resume_run(run, {})
        else:
            self.forget_paused(run)
            self.end_run(run, state)
