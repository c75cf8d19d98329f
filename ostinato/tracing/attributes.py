"""The span attributes of executions, events and task runs (Kestra's names), read from the
objects by name so that nothing here imports the decider (which must stay free of tracing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ostinato.tracing import (
    ATTEMPT, EVENT, FLOW_ID, NAMESPACE, STATE, TASK_ID, TASK_RUN_ID, TASK_TYPE, TENANT_ID,
    TRIGGER_ID,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Span

#: attribute -> the field of an event, execution or worker task that holds it
_FIELDS = {NAMESPACE: "namespace", FLOW_ID: "flow_id", TENANT_ID: "tenant_id",
           TASK_RUN_ID: "task_run_id", ATTEMPT: "attempt"}


def _present(source: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attribute, name in _FIELDS.items():
        value = getattr(source, name, None)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            out[attribute] = value
    return out


def event_attributes(name: str, event: Any) -> dict[str, Any]:
    """What an executor event says about itself: its kind, and its execution's flow, its
    task run and attempt when it names them (a request names the flow, a result its run)."""
    return {EVENT: name, **_present(event)}


def creates_execution(event: Any) -> bool:
    """A request that makes a new execution (its root span when no traced span sent it):
    a request not yet admitted, or a replay as a new execution. Read by class name."""
    kind = type(event).__name__
    return (kind == "ExecutionRequested" and getattr(event, "admission", None) is None) \
        or kind == "ExecutionSeeded"


def describe_execution(span: Span, execution: Any) -> None:
    """The execution's flow and its state after the event, on the executor's span."""
    if execution is None or not span.is_recording():
        return
    span.set_attributes(_present(execution))
    state = getattr(getattr(execution, "state", None), "current", None)
    if state is not None:
        span.set_attribute(STATE, str(state))


def task_attributes(task: Any) -> dict[str, Any]:
    """A worker task's execution, flow, task and attempt, for its task-run span."""
    definition = getattr(task, "task", None)
    out = _present(task)
    for attribute, value in ((TASK_ID, getattr(definition, "id", None)),
                             (TASK_TYPE, getattr(definition, "type", None))):
        if isinstance(value, str):
            out[attribute] = value
    return out



def request_attributes(request: Any, trigger_id: str | None = None) -> dict[str, Any]:
    """A request's flow (and the trigger that fired it), for the span of its sender."""
    out = _present(request)
    if trigger_id is not None:
        out[TRIGGER_ID] = trigger_id
    return out
