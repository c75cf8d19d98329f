"""An execution's start: created from its request, then started, delayed to its schedule
date, queued, or refused by its flow's concurrency limit (the owner's answer)."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.decider.creation import created_execution
from ostinato.execution.progress import Phase
from ostinato.execution.states import StateType, state_of
from ostinato.protocol import events as ev


class Admission(DeciderBase):
    def on_requested(self, event: ev.ExecutionRequested) -> None:
        if self._execution is not None:
            return
        self._execution = created_execution(event, self.flow)
        if event.admission is not None and event.admission != StateType.RUNNING:
            self._refuse_or_queue(state_of(event.admission))
            return
        if event.schedule_date is not None and event.schedule_date > self.now:
            self.set_timer("schedule", event.schedule_date, None)
            return
        self.start_execution()

    def _refuse_or_queue(self, admission: StateType) -> None:
        """Past the flow's concurrency limit: wait QUEUED, or end CANCELLED or FAILED."""
        ex = self.ex
        ex.state.move(admission, self.now)
        if not admission.is_queued:
            limit = self.flow.concurrency.limit if self.flow.concurrency else 0
            self.log(None, "WARN" if admission is StateType.CANCELLED else "ERROR",
                     f"Flow `{self.flow.uid}` is at its concurrency limit of {limit}: "
                     f"execution {admission.lower()}")
            ex.progress.phase = Phase.DONE

    def start_execution(self) -> None:
        self.ex.state.move(StateType.RUNNING, self.now)
        self.start_phase(None, Phase.TASKS)
