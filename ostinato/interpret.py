"""One interpreter of decisions: what a decision asks of the world, as typed messages.

The executor service and the in-process driver both turn a `Decision` into effects with
`effects_of`; the first encodes them to records, the second handles them in memory. The
rules that used to drift between the two live here once: how a subflow child is linked to
its parent (metadata keys of the child's request), how a finished child reports to its
parent, how a request whose flow is unknown or whose inputs are invalid is refused (the
decider's `ExecutionRefused`), and when the flow-concurrency owner hears that a run ended.

Pure: no Kafka, no clock, no randomness (ids come from the caller's `new_id`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ostinato.decider import Decision
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution import StateType
from ostinato.execution.model import Execution
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.model import Flow

#: metadata keys of a subflow child's request (and so of the child execution)
PARENT_TASK_RUN = "parentTaskRunId"
PARENT_ATTEMPT = "parentAttempt"
PARENT_WAITS = "subflowWait"
#: the child's inputs are typed where its flow is known: when the request is applied
TYPE_INPUTS = "typeInputs"


@dataclass(frozen=True)
class ToExecutor:
    """An event for the executor's inbox (a child request, a parent's result, a kill ...)."""

    event: ev.Event


@dataclass(frozen=True)
class ToWorker:
    """A task run's attempt for the worker pool."""

    command: cmd.RunTask


@dataclass(frozen=True)
class Log:
    """A log line the executor writes."""

    command: cmd.EmitLog


@dataclass(frozen=True)
class StopTask:
    """Stop an attempt a worker may be running."""

    command: cmd.KillTask


@dataclass(frozen=True)
class ArmTimer:
    """A timer to fire later (the executor indexes `execution.timers` instead)."""

    command: cmd.SetTimer


@dataclass(frozen=True)
class AdmissionEnded:
    """An execution of a flow with a concurrency limit ended: its slot is free."""

    execution: Execution


Effect = ToExecutor | ToWorker | Log | StopTask | ArmTimer | AdmissionEnded

#: (the StartSubflow command, the parent execution) -> the child flow revision to request
RevisionOf = Callable[[cmd.StartSubflow, Execution], int]


def effects_of(decision: Decision, event: ev.Event, flow: Flow | None, *, was_finished: bool,
               new_id: Callable[[], str], revision_of: RevisionOf) -> list[Effect]:
    """Every effect of `decision` (the decider's answer to `event`), in order: its commands,
    then, when the execution has just finished, its notice to the admission owner and its
    result to a waiting parent. Outgoing events take their time from `event`."""
    execution = decision.execution
    if execution is None:
        return []
    out: list[Effect] = []
    for command in decision.commands:
        effect = _effect_of(command, execution, event, new_id, revision_of)
        if effect is not None:
            out.append(effect)
    if execution.finished and not was_finished:
        if ends_admitted_run(execution, flow):
            out.append(AdmissionEnded(execution))
        result = parent_result(execution, event, new_id())
        if result is not None:
            out.append(ToExecutor(result))
    return out


def _effect_of(command: cmd.Command, execution: Execution, event: ev.Event,
               new_id: Callable[[], str], revision_of: RevisionOf) -> Effect | None:
    if isinstance(command, cmd.RunTask):
        return ToWorker(command)
    if isinstance(command, cmd.EmitLog):
        return Log(command)
    if isinstance(command, cmd.KillTask):
        return StopTask(command)
    if isinstance(command, cmd.SetTimer):
        return ArmTimer(command)
    if isinstance(command, cmd.StartSubflow):
        return ToExecutor(subflow_request(command, execution, event, new_id(),
                                          revision_of(command, execution)))
    if isinstance(command, cmd.StartExecution):
        return ToExecutor(ev.ExecutionRequested(
            id=new_id(), at=event.at, execution_id=command.execution_id,
            namespace=command.namespace, flow_id=command.flow_id,
            flow_revision=command.flow_revision, tenant_id=execution.tenant_id,
            inputs=command.inputs, labels=command.labels, original_id=command.original_id,
            metadata=command.metadata, schedule_date=command.schedule_date))
    if isinstance(command, cmd.SeedExecution):
        return ToExecutor(ev.ExecutionSeeded(new_id(), event.at, command.execution_id,
                                             source=command.source,
                                             from_task_run_id=command.from_task_run_id))
    if isinstance(command, cmd.KillExecution):
        return ToExecutor(ev.Kill(new_id(), event.at, command.execution_id))
    return None  # CancelTimer: a cancelled timer that fires is ignored by the decider


def subflow_request(command: cmd.StartSubflow, parent: Execution, event: ev.Event, event_id: str,
                    revision: int) -> ev.ExecutionRequested:
    """The child's request: linked to its parent's task run and attempt through metadata,
    with inputs to type once the child's flow is known (`typed_request`)."""
    return ev.ExecutionRequested(
        id=event_id, at=event.at, execution_id=command.execution_id,
        namespace=command.namespace, flow_id=command.flow_id, flow_revision=revision,
        tenant_id=parent.tenant_id, inputs=command.inputs, labels=command.labels,
        trigger=command.trigger, schedule_date=command.schedule_date,
        parent_id=command.parent_execution_id,
        metadata={PARENT_TASK_RUN: command.task_run_id, PARENT_ATTEMPT: command.attempt,
                  PARENT_WAITS: command.wait, TYPE_INPUTS: True})


def parent_result(child: Execution, event: ev.Event, event_id: str) -> ev.SubflowResult | None:
    """The result a finished subflow child owes the parent task run waiting for it."""
    metadata = child.metadata
    if not child.parent_id or PARENT_TASK_RUN not in metadata or not metadata.get(PARENT_WAITS, True):
        return None
    # why a child ended before running anything (refused, faulted) is said on the parent too
    reasons = [entry["message"] for entry in child.error_logs if entry.get("taskRunId") is None]
    return ev.SubflowResult(
        id=event_id, at=event.at, execution_id=child.parent_id,
        task_run_id=metadata[PARENT_TASK_RUN], attempt=int(metadata.get(PARENT_ATTEMPT, 1)),
        child_execution_id=child.id, state=child.state.current,
        outputs=child.outputs, task_outputs=child.task_outputs,
        message=reasons[0] if reasons else None)


def ends_admitted_run(execution: Execution, flow: Flow | None) -> bool:
    """Whether the admission owner counted this execution (RUNNING or QUEUED under a flow
    concurrency limit), so must hear that it ended."""
    if flow is None or flow.concurrency is None:
        return False
    return any(h.state in (StateType.RUNNING, StateType.QUEUED) for h in execution.state.histories)


def typed_request(event: ev.ExecutionRequested, flow: Flow) -> ev.ExecutionRequested | ev.ExecutionRefused:
    """A child's request with its inputs typed against its flow; a refusal naming the
    invalid input when they do not type (the child then ends FAILED, and so its parent's
    task run). A request not marked for typing is returned as it is."""
    if not event.metadata.get(TYPE_INPUTS):
        return event
    metadata = {k: v for k, v in event.metadata.items() if k != TYPE_INPUTS}
    try:
        inputs = type_inputs(flow.inputs, event.inputs)
    except InputError as error:
        return refusal(event, f"Invalid inputs for {flow.uid}: {error}")
    return replace(event, inputs=inputs, metadata=metadata)


def unknown_flow(event: ev.ExecutionRequested, waited_seconds: float | None = None) -> ev.ExecutionRefused:
    """The refusal of a request whose flow revision is not known (after waiting, if the
    driver waits for flows to arrive)."""
    waited = "" if waited_seconds is None else f" after waiting {waited_seconds} s"
    return refusal(event, f"Unable to find flow `{event.namespace}.{event.flow_id}` revision "
                          f"{event.flow_revision}: it is not known{waited}")


def refusal(event: ev.ExecutionRequested, reason: str) -> ev.ExecutionRefused:
    """Refuse `event`: the decider creates its execution FAILED with `reason` logged."""
    metadata = {k: v for k, v in event.metadata.items() if k != TYPE_INPUTS}
    return ev.ExecutionRefused(id=event.id, at=event.at, execution_id=event.execution_id,
                               request=replace(event, metadata=metadata), reason=reason)


def fault(event: ev.Event, message: str) -> ev.Fault:
    """Fail the execution of `event` because handling it raised (`message` says why)."""
    return ev.Fault(id=f"{event.id}/fault", at=event.at, execution_id=event.execution_id,
                    message=message)
