"""The CREATED execution an `ExecutionRequested` makes: the decider's rule, public so the
API can answer a create with exactly what the decider will build."""

from __future__ import annotations

from datetime import datetime

from ostinato.execution.model import Execution, State, iso
from ostinato.flow.model import Flow
from ostinato.protocol import events as ev


def created_execution(
    request: ev.ExecutionRequested, flow: Flow | None = None, at: datetime | None = None
) -> Execution:
    """The execution `request` creates, in state CREATED at `at` (the request's time).

    Labels are the flow's (without `system.*` ones) overlaid by the request's, plus a
    `system.correlationId` (the execution's id unless given); metadata starts at attempt 1.
    Without the flow (it is unknown) only the request's labels are kept.
    """
    labels = {} if flow is None else {
        k: v for k, v in flow.labels.items() if not k.startswith("system.")}
    labels.update(request.labels)
    labels.setdefault("system.correlationId", request.execution_id)
    return Execution(
        id=request.execution_id,
        namespace=request.namespace,
        flow_id=request.flow_id,
        flow_revision=request.flow_revision,
        tenant_id=request.tenant_id,
        state=State.created(at or request.at),
        inputs=request.inputs,
        labels=labels,
        trigger=request.trigger,
        parent_id=request.parent_id,
        original_id=request.original_id or request.execution_id,
        schedule_date=iso(request.schedule_date) if request.schedule_date else None,
        metadata={"attemptNumber": 1, "originalCreatedDate": iso(at or request.at), **request.metadata},
    )
