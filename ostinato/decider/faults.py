"""Endings that do not come from a flow's semantics: a request refused before it could
start, and a fault (handling an event raised). Both need no flow, so they work when the
flow is unknown or is the very thing that failed, and neither may raise itself."""

from __future__ import annotations

from ostinato.decider.creation import created_execution
from ostinato.decider.decision import Decision
from ostinato.decider.foreach_items import pending_children
from ostinato.execution.model import Execution
from ostinato.execution.progress import Phase
from ostinato.execution.states import StateType
from ostinato.flow.model import Flow
from ostinato.protocol import commands as cmd
from ostinato.protocol import events as ev


def refuse(flow: Flow | None, execution: Execution | None, event: ev.ExecutionRefused) -> Decision:
    """Create the requested execution directly FAILED, with the reason as an ERROR log.

    The request's metadata is kept (a subflow child's `parentTaskRunId`, so its parent
    hears of the failure). An execution that exists already is left as it is.
    """
    if execution is not None or event.request is None:
        return Decision(execution)
    created = created_execution(event.request, flow, event.at)
    created.state.move(StateType.FAILED, event.at)
    created.progress.phase = Phase.DONE
    created.error_logs.append({"taskId": None, "taskRunId": None, "message": event.reason})
    log = cmd.EmitLog(created.id, None, None, "ERROR", event.reason, event.at)
    return Decision(created, [log], [])


def fault(execution: Execution | None, event: ev.Fault) -> Decision:
    """End an unfinished execution FAILED because handling an event for it raised.

    Every unfinished task run (and its current attempt) ends FAILED; timers are cancelled,
    running worker tasks killed, subflow children killed; an ERROR log carries the message.
    A missing or finished execution is left as it is.
    """
    if execution is None or execution.finished:
        return Decision(execution)
    at = event.at
    commands: list[cmd.Command] = [cmd.CancelTimer(execution.id, t) for t in execution.timers]
    execution.timers.clear()
    changed: list[str] = []
    for run in execution.task_run_list:
        if run.state.terminal:
            continue
        changed.append(run.id)
        attempt = run.attempts[-1] if run.attempts else None
        if attempt is not None and not attempt.state.terminal:
            child = run.progress.child_execution_id
            batches = pending_children(run)  # a ForEachItem's children (foreach_items.py)
            if batches:
                commands.extend(cmd.KillExecution(batch) for batch in batches)
            else:
                commands.append(cmd.KillExecution(child) if child is not None
                                else cmd.KillTask(execution.id, run.id, attempt=len(run.attempts)))
            attempt.state.move(StateType.FAILED, at)
        run.state.move(StateType.FAILED, at)
    execution.progress.paused_runs = []
    execution.progress.phase = Phase.DONE
    execution.state.move(StateType.FAILED, at)
    execution.error_logs.append({"taskId": None, "taskRunId": None, "message": event.message})
    commands.append(cmd.EmitLog(execution.id, None, None, "ERROR", event.message, at))
    return Decision(execution, commands, changed)
