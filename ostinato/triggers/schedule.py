"""Schedule triggers: which occurrences are due, and the execution each one asks for.

Pure: the caller gives the time and the trigger's last fired occurrence. An occurrence's
execution id is derived from the flow, the trigger and the occurrence's date, so the same
occurrence fired twice (two scheduler replicas, a restart mid-fire, a backfill over a
range already run) is one execution.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from croniter import croniter

from ostinato.execution.model import iso
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError, render_value
from ostinato.flow.durations import parse_duration
from ostinato.flow.model import Flow
from ostinato.flow.triggers import Schedule
from ostinato.protocol import events as ev
from ostinato.protocol.ids import derived_id

SCHEDULE_TYPE = "io.kestra.plugin.core.trigger.Schedule"
#: a bound on how many missed occurrences one tick fires (recoverMissedSchedules: ALL)
MAX_CATCH_UP = 10_000


def schedules(flows: list[Flow]) -> list[tuple[Flow, Schedule]]:
    """Every enabled Schedule trigger of every enabled flow."""
    return [(flow, trigger) for flow in flows if not flow.disabled for trigger in flow.triggers
            if isinstance(trigger, Schedule) and not trigger.disabled]


def trigger_uid(flow: Flow, trigger: Schedule) -> str:
    return f"{flow.tenant_id or ''}/{flow.namespace}/{flow.id}/{trigger.id}"


def _cron(trigger: Schedule, start: datetime) -> croniter:
    zone = ZoneInfo(trigger.timezone or "UTC")
    return croniter(trigger.cron, start.astimezone(zone), second_at_beginning=trigger.with_seconds)


def occurrences(trigger: Schedule, after: datetime, until: datetime) -> Iterator[datetime]:
    """Occurrences in (after, until], in order."""
    cron = _cron(trigger, after)
    while True:
        moment: datetime = cron.get_next(datetime)
        if moment > until:
            return
        yield moment


def next_after(trigger: Schedule, moment: datetime) -> datetime:
    result: datetime = _cron(trigger, moment).get_next(datetime)
    return result


def previous_before(trigger: Schedule, moment: datetime) -> datetime:
    result: datetime = _cron(trigger, moment).get_prev(datetime)
    return result


def due(trigger: Schedule, last: datetime | None, now: datetime) -> list[datetime]:
    """Occurrences to fire now. First sight of a trigger: none yet (it starts from now);
    missed ones after a pause of the scheduler follow `recoverMissedSchedules` (ALL by
    default) and `lateMaximumDelay`."""
    if last is None:
        return []
    missed = []
    for moment in occurrences(trigger, last, now):
        missed.append(moment)
        if len(missed) >= MAX_CATCH_UP:
            break
    if trigger.late_maximum_delay:
        horizon = now - parse_duration(trigger.late_maximum_delay)
        missed = [m for m in missed if m >= horizon]
    policy = trigger.recover_missed_schedules or "ALL"
    if policy == "LAST":
        return missed[-1:]
    if policy == "NONE":
        return [m for m in missed if now - m < timedelta(seconds=1)][-1:]
    return missed


def conditions_hold(flow: Flow, trigger: Schedule, moment: datetime) -> bool:
    """The trigger's `conditions` (day of week, weekend, time between ...) at `moment`."""
    conditions = [*trigger.conditions, *(trigger.schedule_conditions or [])]
    if not conditions:
        return True
    from ostinato.execution.model import Execution, State
    from ostinato.triggers.conditions import matches

    probe = Execution(id="", namespace=flow.namespace, flow_id=flow.id,
                      flow_revision=flow.revision or 1, state=State.created(moment))
    context = {"trigger": {"date": iso(moment)}, "schedule": {"date": iso(moment)},
               "__now__": moment, "flow": {"id": flow.id, "namespace": flow.namespace}}
    return all(matches(c, probe, StateType.CREATED, moment, context) for c in conditions)


def request_for(flow: Flow, trigger: Schedule, moment: datetime, now: datetime,
                typed: Callable[[Flow, dict[str, Any]], dict[str, Any]],
                *, backfill: bool = False) -> ev.ExecutionRequested:
    """The execution of one occurrence (raises ValueError or ExpressionError on bad inputs)."""
    variables = {
        "date": iso(moment),
        "next": iso(next_after(trigger, moment)),
        "previous": iso(previous_before(trigger, moment)),
    }
    context = {"trigger": variables, "schedule": variables, "__now__": now,
               "flow": {"id": flow.id, "namespace": flow.namespace}}
    inputs = typed(flow, render_value(trigger.inputs, context))
    labels = trigger.labels
    if isinstance(labels, list):
        labels = {item["key"]: item["value"] for item in labels}
    if backfill:
        labels = {**labels, "system.backfill": "true"}
    return ev.ExecutionRequested(
        id=str(uuid.uuid4()), at=now,
        execution_id=derived_id(f"schedule/{trigger_uid(flow, trigger)}/{iso(moment)}"),
        namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1,
        tenant_id=flow.tenant_id, inputs=inputs, labels=dict(render_value(labels, context)),
        trigger={"id": trigger.id, "type": SCHEDULE_TYPE, "variables": variables},
        schedule_date=None)


__all__ = ["ExpressionError", "due", "occurrences", "request_for", "schedules", "trigger_uid"]
