"""What every concern of the decider shares: the event being applied, the execution, the
commands given so far, the task runs touched, timers and logs; and the operations one
concern asks of another (implemented by the mixins that `engine.Decider` combines)."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from ostinato.decider.context import Settings, task_context
from ostinato.decider.plans import Identity
from ostinato.execution.model import Execution, TaskRun, Timer, iso
from ostinato.execution.progress import Phase, Progress
from ostinato.execution.states import StateType
from ostinato.expressions import render_value
from ostinato.flow.model import Flow
from ostinato.flow.tasks import Subflow, Task
from ostinato.flow.tasks_execution import ExecutionUpdatingTask
from ostinato.protocol import commands as cmd
from ostinato.protocol import events as ev


class DeciderBase:
    """One application of one event: its state, and the operations shared by concerns."""

    def __init__(
        self, flow: Flow, execution: Execution | None, event: ev.Event, settings: Settings
    ) -> None:
        self.flow = flow
        self._execution = execution
        self.event = event
        self.settings = settings
        self.now: datetime = event.at
        self.commands: list[cmd.Command] = []
        #: task runs that ended: their parents hear of it once this event's work is done
        self.ended: deque[TaskRun] = deque()
        #: task runs created or changed (a dict keeps the order they were first touched)
        self.touched: dict[str, None] = {}

    @property
    def execution(self) -> Execution | None:
        return self._execution

    @property
    def ex(self) -> Execution:
        assert self._execution is not None
        return self._execution

    def parent_of(self, run: TaskRun) -> TaskRun | None:
        """The flowable task run holding `run` (None: the flow itself)."""
        return None if run.parent_task_run_id is None else self.ex.run(run.parent_task_run_id)

    def progress_of(self, node: TaskRun | None) -> Progress:
        """The progress of a flowable task run's children, or of the flow's (None)."""
        return self.ex.progress if node is None else node.progress

    # ------------------------------------------------------------------ timers and logs

    def set_timer(self, kind: str, at: datetime, run: TaskRun | None) -> None:
        ex = self.ex
        ex.sequence += 1
        timer = Timer(f"{kind}/{ex.sequence}", iso(at), kind, None if run is None else run.id)
        ex.timers[timer.id] = timer
        self.commands.append(cmd.SetTimer(ex.id, timer.id, at))

    def cancel_timer(self, timer_id: str) -> None:
        if self.ex.timers.pop(timer_id, None) is not None:
            self.commands.append(cmd.CancelTimer(self.ex.id, timer_id))

    def cancel_timers_of(self, run: TaskRun) -> None:
        for timer_id in [t.id for t in self.ex.timers.values() if t.task_run_id == run.id]:
            self.cancel_timer(timer_id)

    def log(self, run: TaskRun | None, level: str, message: str) -> None:
        task_id = None if run is None else run.task_id
        run_id = None if run is None else run.id
        if level == "ERROR":
            self.ex.error_logs.append({"taskId": task_id, "taskRunId": run_id, "message": message})
        self.commands.append(cmd.EmitLog(self.ex.id, run_id, task_id, level, message, self.now))

    def render(self, run: TaskRun, task: Task, value: Any) -> Any:
        """`value` rendered for `run` (raises ExpressionError)."""
        return render_value(value, task_context(self.flow, self.ex, run, task, self.settings, self.now))

    # ------------------------------------------------------------------ across concerns

    def start_execution(self) -> None:
        """The execution goes RUNNING and starts its tasks (admission.py)."""
        raise NotImplementedError

    def phase_tasks(self, node: TaskRun | None, phase: Phase) -> list[Task]:
        """The enabled tasks of a phase's list, the flow's for None (phases.py)."""
        raise NotImplementedError

    def start_phase(self, node: TaskRun | None, phase: Phase) -> None:
        """Start a flowable's (or the flow's) list of children for `phase` (phases.py)."""
        raise NotImplementedError

    def finish_execution(self, state: StateType) -> None:
        """The flow's tasks resolved to `state`: end the execution (finishing.py)."""
        raise NotImplementedError

    def create_child(self, node: TaskRun | None, task: Task, block: str, lane: int, pos: int,
                     identity: Identity) -> None:
        """Create and start a task run under `node` (runs.py)."""
        raise NotImplementedError

    def begin_flowable(self, run: TaskRun, task: Task) -> None:
        """A RUNNING flowable task run begins as its flowable says (runs.py)."""
        raise NotImplementedError

    def child_ended(self, node: TaskRun | None, child: TaskRun) -> None:
        """A child of `node` has its final state (phases.py)."""
        raise NotImplementedError

    def start_subflow(self, run: TaskRun, task: Subflow, attempt: int) -> None:
        """Ask for the child execution of a Subflow attempt (subflows.py)."""
        raise NotImplementedError

    def start_batches(self, run: TaskRun, task: Any, attempt: int) -> None:
        """Start a ForEachItem's child executions, one per batch (foreach_items.py)."""
        raise NotImplementedError

    def on_batch_result(self, run: TaskRun, task: Any, event: ev.SubflowResult) -> None:
        """A ForEachItem's child execution ended (foreach_items.py)."""
        raise NotImplementedError

    def merge_task(self, run: TaskRun, task: Any) -> Task:
        """A ForEachItem's merge phase with its children's outputs (foreach_items.py)."""
        raise NotImplementedError

    def current_attempt_run(self, task_run_id: str, attempt: int) -> TaskRun | None:
        """The task run if `attempt` is its current, unfinished attempt (results.py)."""
        raise NotImplementedError

    def attempt_ended(self, run: TaskRun, state: StateType) -> None:
        """An attempt ended in `state`: retry its run, or end it (results.py)."""
        raise NotImplementedError

    def update_execution(self, run: TaskRun, task: ExecutionUpdatingTask) -> None:
        """Apply a Labels or Exit attempt to the execution (updates.py)."""
        raise NotImplementedError

    def terminate(self, state: StateType, target: TaskRun | None) -> None:
        """End the execution in `state` from the inside (updates.py)."""
        raise NotImplementedError

    def repeat_tasks(self, node: TaskRun) -> StateType | bool:
        """A flowable's `tasks` phase ended without failure: True when they run again
        later (a loop), a state to end the flowable in, or False (loops.py)."""
        raise NotImplementedError

    def on_sla_timer(self, kind: str) -> None:
        """A MAX_DURATION SLA's timer fired (sla.py)."""
        raise NotImplementedError

    def dispatch(self, run: TaskRun, task: Task) -> None:
        """Start a new attempt of a runnable task run (runs.py)."""
        raise NotImplementedError

    def end_run(self, run: TaskRun, state: StateType) -> None:
        """Give a task run its final state (runs.py)."""
        raise NotImplementedError

    def fail_run(self, run: TaskRun, message: str) -> None:
        """End a task run FAILED with an ERROR log saying why (runs.py)."""
        raise NotImplementedError

    def pause_run(self, run: TaskRun) -> None:
        """A task run (and so the execution) waits PAUSED (pausing.py)."""
        raise NotImplementedError

    def forget_paused(self, run: TaskRun) -> None:
        """A task run no longer waits PAUSED (pausing.py)."""
        raise NotImplementedError

    def resume_run(self, run: TaskRun, inputs: dict[str, Any]) -> None:
        """A PAUSED task run goes on (pausing.py)."""
        raise NotImplementedError
