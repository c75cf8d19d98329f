"""Execution control: kill, restart and replay, applied by the decider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.decider.flowables import flowable_for
from ostinato.execution.model import FAILED_STATES, TaskRun
from ostinato.flow.tasks import Subflow

if TYPE_CHECKING:
    from ostinato.decider.engine import Decider


def kill(d: Decider) -> None:
    """KILLING then KILLED: every unfinished task run ends KILLED, running worker tasks
    and subflow children are told to stop, timers are dropped."""
    ex = d.ex
    if ex.state.terminal:
        return
    ex.state.move("KILLING", d.now)
    for timer_id in list(ex.timers):
        d.cancel_timer(timer_id)
    for run in ex.task_run_list:
        if run.state.terminal:
            continue
        d.touched[run.id] = None
        task = d.flow.task(run.task_id)
        in_flight = bool(run.attempts) and not run.attempts[-1].state.terminal
        if in_flight and isinstance(task, Subflow) and "childExecutionId" in run.progress:
            d.commands.append(cmd.KillExecution(run.progress["childExecutionId"]))
            run.attempts[-1].state.move("KILLED", d.now)
        elif in_flight and not task.flowable:
            d.commands.append(cmd.KillTask(ex.id, run.id))
            run.attempts[-1].state.move("KILLED", d.now)
        run.state.move("KILLED", d.now)
    ex.progress["pausedRuns"] = []
    ex.state.move("KILLED", d.now)
    ex.progress["phase"] = "done"


def replay(d: Decider, event: ev.Replay) -> None:
    """A new execution of the same flow revision with the same inputs and labels."""
    ex = d.execution
    if ex is None or not ex.finished or not event.new_execution_id:
        return
    labels = {k: v for k, v in ex.labels.items() if k != "system.correlationId"}
    d.commands.append(cmd.StartExecution(
        execution_id=event.new_execution_id, namespace=ex.namespace, flow_id=ex.flow_id,
        flow_revision=ex.flow_revision, inputs=ex.inputs, labels=labels,
        original_id=ex.original_id or ex.id,
        metadata={"attemptNumber": 1, "replayOf": ex.id}))


def restart(d: Decider) -> None:
    """Run the failed task runs again (a new attempt each); their flowable parents and
    the execution go back to RUNNING and carry on from there, as Kestra's restart."""
    ex = d.execution
    if ex is None or ex.state.current not in ("FAILED", "KILLED") or not ex.finished:
        return
    failed = {run.id for run in ex.task_run_list if run.state.current in FAILED_STATES}
    parents = {ex.run(i).parent_task_run_id for i in failed}
    leaves = [ex.run(i) for i in failed if i not in parents and _in_tasks_blocks(d, ex.run(i))]
    if not leaves:
        return
    ex.state.move("RESTARTED", d.now)
    ex.state.move("RUNNING", d.now)
    ex.outputs = None
    ex.progress.pop("retryExecution", None)
    reopened: set[str] = set()
    _reopen(d, None, reopened)
    for leaf in leaves:
        _restart_leaf(d, leaf, reopened)


def _in_tasks_blocks(d: Decider, run: TaskRun) -> bool:
    """True when the run and all its ancestors are in their parent's `tasks` (not errors,
    finally or afterExecution, which a restart does not run again)."""
    return run.block == "tasks" and all(p.block == "tasks" for p in d.ex.parents_of(run))


def _reopen(d: Decider, node: TaskRun | None, reopened: set[str]) -> None:
    """Put a finished flowable (or the flow) back in its `tasks` phase, once."""
    key = "" if node is None else node.id
    if key in reopened:
        return
    reopened.add(key)
    progress = d.progress_of(node)
    progress.update(phase="tasks", failed=False, worst="SUCCESS", running=0)
    if node is not None:
        d.touched[node.id] = None
        node.state.move("RESTARTED", d.now)
        node.state.move("RUNNING", d.now)
        parent = None if node.parent_task_run_id is None else d.ex.run(node.parent_task_run_id)
        _reopen(d, parent, reopened)
        d.progress_of(parent)["running"] += 1


def _restart_leaf(d: Decider, run: TaskRun, reopened: set[str]) -> None:
    parent = None if run.parent_task_run_id is None else d.ex.run(run.parent_task_run_id)
    _reopen(d, parent, reopened)
    d.progress_of(parent)["running"] += 1
    d.touched[run.id] = None
    task = d.flow.task(run.task_id)
    run.state.move("RESTARTED", d.now)
    run.state.move("RUNNING", d.now)
    if task.flowable and not isinstance(task, Subflow):
        run.progress = {}
        flowable_for(task).begin(d, run, task)
    else:
        d.dispatch(run, task)
