"""The decider: decide(flow, execution, event) -> (execution', commands).

Pure: no Kafka, no RocksDB, no clock (time arrives with the event). The execution is
updated in place — the caller hands it over — and only the task runs an event touches are
visited: a task run that ends tells its parent, which starts what comes next or ends in
turn. Each concern is a module of its own (admission, results, subflows, timers, pausing,
phases, finishing, runs, control,
updates (Labels, Exit), loops, sla); `Decider` combines them and routes each event.
"""

from __future__ import annotations

from ostinato.decider import control, faults
from ostinato.decider.admission import Admission
from ostinato.decider.base import DeciderBase
from ostinato.decider.context import Settings
from ostinato.decider.decision import Decision
from ostinato.decider.finishing import Finishing
from ostinato.decider.foreach_items import ForEachItems
from ostinato.decider.loops import Loops
from ostinato.decider.pausing import Pausing
from ostinato.decider.phases import Phases
from ostinato.decider.results import Results
from ostinato.decider.runs import Runs
from ostinato.decider.sla import Slas
from ostinato.decider.subflows import Subflows
from ostinato.decider.timers import Timers
from ostinato.decider.updates import ExecutionUpdates
from ostinato.execution.model import Execution
from ostinato.execution.states import StateType, worse
from ostinato.flow.model import Flow
from ostinato.protocol import events as ev
from ostinato.protocol.ids import derived_id


def decide(
    flow: Flow | None, execution: Execution | None, event: ev.Event, settings: Settings | None = None
) -> Decision:
    """Apply `event` to `execution` (None before it exists) and say what must happen next.

    An event that was already applied (a result for an attempt already final, a timer
    already fired, a second request for the same execution) changes nothing. `flow` may be
    None only for `ExecutionRefused` and `Fault` (the flow may be unknown or broken).
    """
    if isinstance(event, (ev.ExecutionRefused, ev.Fault)):
        return _end_without_flow(flow, execution, event)
    if flow is None:
        raise ValueError(f"{type(event).__name__} needs the execution's flow")
    decider = Decider(flow, execution, event, settings or Settings())
    decider.apply()
    return Decision(decider.execution, decider.commands, list(decider.touched))


def _end_without_flow(flow: Flow | None, execution: Execution | None,
                      event: ev.ExecutionRefused | ev.Fault) -> Decision:
    if isinstance(event, ev.ExecutionRefused):
        return faults.refuse(flow, execution, event)
    return faults.fault(execution, event)


class Decider(Admission, Results, Subflows, ForEachItems, Timers, Pausing, Phases, Finishing, Runs,
              ExecutionUpdates, Loops, Slas, DeciderBase):
    """One application of one event, every concern combined."""

    def apply(self) -> None:
        event = self.event
        if isinstance(event, ev.ExecutionRequested):
            created = self._execution is None
            self.on_requested(event)
            if created and self.flow.sla:
                self.arm_slas()
        elif isinstance(event, ev.Restart):
            control.restart(self)
        elif isinstance(event, ev.Replay):
            control.replay(self, event)
            return
        elif isinstance(event, ev.ExecutionSeeded):
            if self._execution is not None:
                return
            self._execution = control.seed(self, event)
            if self._execution is None:
                return
            control.start_seeded(self, self._execution, event.from_task_run_id)
        elif self._execution is None or self._execution.finished:
            return
        elif isinstance(event, ev.WorkerTaskResult):
            self.on_worker_result(event)
        elif isinstance(event, ev.SubflowResult):
            self.on_subflow_result(event)
        elif isinstance(event, ev.TimerFired):
            self.on_timer(event)
        elif isinstance(event, ev.Kill):
            control.kill(self)
        elif isinstance(event, ev.Resume):
            self.on_resume(event)
        elif isinstance(event, ev.Admit) and self.ex.state.current is StateType.QUEUED:
            self.start_execution()
        if self._execution is not None:
            self.drain()
            if self.flow.sla:
                self.check_assertions()


__all__ = ["Decider", "Decision", "decide", "derived_id", "worse"]
