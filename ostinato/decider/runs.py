"""Task runs: created under their parent, started (skipped by `runIf`, begun as their
flowable says, or sent as an attempt), ended, and their parent told once the event's
work is done."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.decider.context import task_context
from ostinato.decider.flowables import FlowableFailure, flowable_for
from ostinato.decider.flowables.working_directory import working_group
from ostinato.decider.plans import Identity, enabled
from ostinato.execution.model import Attempt, State, TaskRun
from ostinato.execution.progress import Phase
from ostinato.execution.states import KILLED_STATES, StateType
from ostinato.expressions import ExpressionError, is_truthy
from ostinato.flow.tasks import Subflow, Task
from ostinato.flow.tasks_execution import ExecutionUpdatingTask
from ostinato.flow.tasks_foreach_item import STARTS_EXECUTIONS, ForEachItemExecutable, ForEachItemMergeOutputs
from ostinato.protocol import commands as cmd
from ostinato.protocol.ids import derived_id


class Runs(DeciderBase):
    def create_child(self, node: TaskRun | None, task: Task, block: str, lane: int, pos: int,
                     identity: Identity) -> None:
        ex = self.ex
        ex.sequence += 1
        run = ex.add(TaskRun(
            id=derived_id(f"{ex.id}/{ex.sequence}"),
            execution_id=ex.id, namespace=ex.namespace, flow_id=ex.flow_id, task_id=task.id,
            state=State.created(self.now),
            parent_task_run_id=None if node is None else node.id,
            value=identity.value, iteration=identity.iteration, each_values=identity.each_values,
            block=block, lane=lane, pos=pos,
        ))
        self.progress_of(node).running += 1
        self.touched[run.id] = None
        self._start_run(run, task)

    def _start_run(self, run: TaskRun, task: Task) -> None:
        if len(self.ex.task_run_list) > self.settings.max_task_runs:
            self.fail_run(run, too_many_task_runs(task, 1, len(self.ex.task_run_list) - 1,
                                                  self.settings.max_task_runs))
            return
        if task.run_if is not None:
            condition = str(task.run_if).lower() if isinstance(task.run_if, bool) else task.run_if
            try:
                rendered = self.render(run, task, condition)
            except ExpressionError as error:
                self.fail_run(run, str(error))
                return
            if not is_truthy(str(rendered)):
                run.state.move(StateType.SKIPPED, self.now)
                self.ended.append(run)
                return
        if task.flowable and not isinstance(task, STARTS_EXECUTIONS):
            run.state.move(StateType.RUNNING, self.now)
            self.begin_flowable(run, task)
        else:
            self.dispatch(run, task)

    def begin_flowable(self, run: TaskRun, task: Task) -> None:
        try:
            wait = flowable_for(task).begin(run, task, lambda value: self.render(run, task, value))
        except (ExpressionError, FlowableFailure) as error:
            self.fail_run(run, str(error))
            return
        coming = expected_children(run, task)
        if len(self.ex.task_run_list) + coming > self.settings.max_task_runs:
            self.fail_run(run, too_many_task_runs(task, coming, len(self.ex.task_run_list),
                                                  self.settings.max_task_runs))
            return
        if run.outputs is not None:  # what a flowable outputs at once, its children read
            self.ex.record_outputs(run)
        if wait is None:
            self.start_phase(run, Phase.TASKS)
            return
        self.pause_run(run)
        for kind, delay in wait.timers:
            self.set_timer(kind, self.now + delay, run)

    def dispatch(self, run: TaskRun, task: Task) -> None:
        """Start a new attempt: a worker task, or a child execution for a Subflow."""
        run.attempts.append(Attempt(State.created(self.now)))
        attempt = len(run.attempts)
        if isinstance(task, Subflow):
            self.start_subflow(run, task, attempt)
            return
        if isinstance(task, ExecutionUpdatingTask):  # Labels, Exit: applied here (updates.py)
            self.update_execution(run, task)
            return
        if isinstance(task, ForEachItemExecutable):  # one child per batch (foreach_items.py)
            self.start_batches(run, task, attempt)
            return
        if isinstance(task, ForEachItemMergeOutputs):  # carries the children's outputs
            task = self.merge_task(run, task)
        variables = task_context(self.flow, self.ex, run, task, self.settings, self.now)
        parent = None if run.parent_task_run_id is None else self.ex.run(run.parent_task_run_id)
        group = None if parent is None else working_group(parent, self.flow.task(parent.task_id), run)
        self.commands.append(cmd.RunTask(self.ex.id, run.id, attempt, task, variables, group))

    def end_run(self, run: TaskRun, state: StateType) -> None:
        """Give the task run its final state and tell its parent (after this event's work)."""
        task = self.flow.task(run.task_id)
        if state == StateType.FAILED and task.allow_failure:
            state = StateType.WARNING
        if state == StateType.WARNING and task.allow_warning:
            state = StateType.SUCCESS
        run.state.move(state, self.now)
        self.touched[run.id] = None
        if self.ex.timers:
            self.cancel_timers_of(run)
        self.ex.record_outputs(run)
        self.ended.append(run)

    def fail_run(self, run: TaskRun, message: str) -> None:
        """End a task run FAILED with an ERROR log line saying why."""
        self.log(run, "ERROR", message)
        if run.state.current.is_paused:
            self.forget_paused(run)
        self.end_run(run, StateType.FAILED)

    def drain(self) -> None:
        """Tell each ended task run's parent, in the order they ended (none once killed)."""
        ex = self.ex
        while self.ended:
            run = self.ended.popleft()
            if ex.state.current in KILLED_STATES:
                continue
            parent_id = run.parent_task_run_id
            self.child_ended(None if parent_id is None else ex.run(parent_id), run)


def expected_children(run: TaskRun, task: Task) -> int:
    """The task runs a ForEach (or EachSequential, EachParallel) will create directly: one
    per value and task, known once its values are rendered; 0 for other flowables."""
    values = run.progress.values
    if values is None:
        return 0
    return len(values) * max(len(enabled(getattr(task, "tasks", None))), 1)


def too_many_task_runs(task: Task, coming: int, existing: int, limit: int) -> str:
    """Why `task` may not create `coming` more task runs (the message names the limit)."""
    return (f"Task `{task.id}` would create {coming} task run(s), with the {existing} this "
            f"execution has: over the limit of {limit} task runs per execution "
            f"(OSTINATO_MAX_TASK_RUNS). Split the work, for example into subflows "
            f"(ForEachItem or Subflow), each an execution with its own limit.")
