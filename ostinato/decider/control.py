"""Execution control: kill, restart and replay, applied by the decider."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.execution.model import Execution, State, TaskRun
from ostinato.execution.progress import ExecutionProgress, Phase, TaskRunProgress
from ostinato.execution.states import StateType
from ostinato.decider.foreach_items import pending_children
from ostinato.flow.tasks import Subflow
from ostinato.flow.tasks_foreach_item import STARTS_EXECUTIONS, ForEachItemExecutable
from ostinato.protocol import commands as cmd
from ostinato.protocol import events as ev


def kill(d: DeciderBase) -> None:
    """KILLING then KILLED: every unfinished task run ends KILLED, running worker tasks
    and subflow children are told to stop, timers are dropped."""
    ex = d.ex
    if ex.state.terminal:
        return
    ex.state.move(StateType.KILLING, d.now)
    for timer_id in list(ex.timers):
        d.cancel_timer(timer_id)
    for run in ex.task_run_list:
        if run.state.terminal:
            continue
        d.touched[run.id] = None
        task = d.flow.task(run.task_id)
        in_flight = bool(run.attempts) and not run.attempts[-1].state.terminal
        child_id = run.progress.child_execution_id
        if in_flight and isinstance(task, Subflow) and child_id is not None:
            d.commands.append(cmd.KillExecution(child_id))
            run.attempts[-1].state.move(StateType.KILLED, d.now)
        elif in_flight and isinstance(task, ForEachItemExecutable):  # its batches' children
            d.commands.extend(cmd.KillExecution(child) for child in pending_children(run))
            run.attempts[-1].state.move(StateType.KILLED, d.now)
        elif in_flight and not task.flowable:
            d.commands.append(cmd.KillTask(ex.id, run.id, attempt=len(run.attempts)))
            run.attempts[-1].state.move(StateType.KILLED, d.now)
        run.state.move(StateType.KILLED, d.now)
    ex.progress.paused_runs = []
    ex.state.move(StateType.KILLED, d.now)
    ex.progress.phase = Phase.DONE


def replay(d: DeciderBase, event: ev.Replay) -> None:
    """A new execution of the same flow revision with the same inputs and labels: from the
    start, or (with a task run) from a copy of this one that runs that task run again."""
    ex = d.execution
    if ex is None or not ex.finished or not event.new_execution_id:
        return
    if event.task_run_id is not None:
        chosen = ex.find(event.task_run_id)
        if chosen is not None and _in_tasks_blocks(d, chosen):
            d.commands.append(cmd.SeedExecution(event.new_execution_id, ex, chosen.id))
        return
    labels = {k: v for k, v in ex.labels.items() if k != "system.correlationId"}
    d.commands.append(cmd.StartExecution(
        execution_id=event.new_execution_id, namespace=ex.namespace, flow_id=ex.flow_id,
        flow_revision=ex.flow_revision, inputs=ex.inputs, labels=labels,
        original_id=ex.original_id or ex.id,
        metadata={"attemptNumber": 1, "replayOf": ex.id}))


def restart(d: DeciderBase) -> None:
    """Run the failed task runs again (a new attempt each); their flowable parents and
    the execution go back to RUNNING and carry on from there, as Kestra's restart."""
    ex = d.execution
    if ex is None or ex.state.current not in (StateType.FAILED, StateType.KILLED) or not ex.finished:
        return
    failed = {run.id for run in ex.task_run_list if run.state.current.is_failed}
    parents = {ex.run(i).parent_task_run_id for i in failed}
    leaves = [ex.run(i) for i in failed if i not in parents and _in_tasks_blocks(d, ex.run(i))]
    if not leaves:
        return
    ex.state.move(StateType.RESTARTED, d.now)
    ex.state.move(StateType.RUNNING, d.now)
    ex.outputs = None
    ex.progress.retry_execution = False
    reopened: set[str] = set()
    _reopen(d, None, reopened)
    for leaf in leaves:
        _restart_leaf(d, leaf, reopened)


def _in_tasks_blocks(d: DeciderBase, run: TaskRun) -> bool:
    """True when the run and all its ancestors are in their parent's `tasks` (not errors,
    finally or afterExecution, which a restart does not run again)."""
    return run.block == Phase.TASKS and all(p.block == Phase.TASKS for p in d.ex.parents_of(run))


def _reopen(d: DeciderBase, node: TaskRun | None, reopened: set[str]) -> None:
    """Put a finished flowable (or the flow) back in its `tasks` phase, once."""
    key = "" if node is None else node.id
    if key in reopened:
        return
    reopened.add(key)
    progress = d.progress_of(node)
    progress.phase = Phase.TASKS
    progress.counting = True
    progress.failed = False
    progress.worst = StateType.SUCCESS
    progress.running = 0
    if node is not None:
        d.touched[node.id] = None
        node.state.move(StateType.RESTARTED, d.now)
        node.state.move(StateType.RUNNING, d.now)
        parent = d.parent_of(node)
        _reopen(d, parent, reopened)
        d.progress_of(parent).running += 1


def _restart_leaf(d: DeciderBase, run: TaskRun, reopened: set[str]) -> None:
    parent = d.parent_of(run)
    _reopen(d, parent, reopened)
    d.progress_of(parent).running += 1
    d.touched[run.id] = None
    task = d.flow.task(run.task_id)
    run.state.move(StateType.RESTARTED, d.now)
    run.state.move(StateType.RUNNING, d.now)
    if task.flowable and not isinstance(task, STARTS_EXECUTIONS):
        run.progress = TaskRunProgress()
        d.begin_flowable(run, task)
    else:
        d.dispatch(run, task)


def seed(d: DeciderBase, event: ev.ExecutionSeeded) -> Execution | None:
    """The new execution of a replay from a task run: the source's task runs created before
    the chosen one are kept as they ended; the chosen one runs again and its parents carry
    on from there (the lanes they had not reached yet start again)."""
    source: Execution = event.source
    chosen = source.find(event.from_task_run_id)
    if chosen is None:
        return None
    cut = source.index_of(chosen.id) or 0
    kept = [TaskRun.from_dict({**run.to_dict(), "executionId": event.execution_id})
            for run in source.task_run_list[: cut + 1]]
    labels = {k: v for k, v in source.labels.items() if k != "system.correlationId"}
    labels["system.correlationId"] = event.execution_id
    execution = Execution(
        id=event.execution_id, namespace=source.namespace, flow_id=source.flow_id,
        flow_revision=source.flow_revision, tenant_id=source.tenant_id,
        state=State.created(d.now), inputs=source.inputs, labels=labels, trigger=source.trigger,
        original_id=source.original_id or source.id,
        metadata={**source.metadata, "replayOf": source.id}, task_run_list=kept,
        progress=ExecutionProgress.from_dict(source.progress.to_dict()), sequence=source.sequence)
    for run in kept:
        d.touched[run.id] = None  # a new execution: every run it holds is written
        if run.state.terminal and run.id != chosen.id:
            execution.record_outputs(run)
    return execution


def start_seeded(d: DeciderBase, execution: Execution, chosen_id: str) -> None:
    """Point each parent of the chosen run at the lanes it has left, then restart it."""
    chosen = execution.run(chosen_id)
    execution.state.move(StateType.RESTARTED, d.now)
    execution.state.move(StateType.RUNNING, d.now)
    for node in [None, *execution.parents_of(chosen)]:
        node_id = None if node is None else node.id
        children = [r for r in execution.task_run_list
                    if r.parent_task_run_id == node_id and r.block == Phase.TASKS]
        progress = d.progress_of(node)
        progress.next_lane = max((c.lane for c in children), default=-1) + 1
        if progress.started is not None:  # a Dag: what ran and what is done, from the runs kept
            progress.started = sorted({c.lane for c in children})
            progress.done = [c.task_id for c in children if c.state.terminal]
    _restart_leaf(d, chosen, set())
