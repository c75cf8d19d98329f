"""Evaluating Kestra's trigger conditions against an execution (and a moment)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Mapping

from ostinato.execution.model import Execution
from ostinato.expressions import ExpressionError, is_truthy, render
from ostinato.flow import conditions as c


class UnsupportedCondition(ValueError):
    """A condition type ostinato does not evaluate yet (it never matches)."""


def execution_context(execution: Execution, state: str, now: datetime) -> dict[str, Any]:
    """Variables a condition or a trigger's inputs render with: the upstream execution."""
    from ostinato.decider.context import nested_labels

    return {
        "execution": {"id": execution.id, "state": state, "startDate": execution.state.start_date,
                      "originalId": execution.original_id or execution.id},
        "flow": {"id": execution.flow_id, "namespace": execution.namespace,
                 "revision": execution.flow_revision},
        "outputs": execution.task_outputs,
        "inputs": execution.inputs,
        "labels": nested_labels(execution.labels),
        "trigger": {"executionId": execution.id, "namespace": execution.namespace,
                    "flowId": execution.flow_id, "flowRevision": execution.flow_revision,
                    "state": state, "outputs": execution.outputs, "date": now.isoformat()},
        "__now__": now,
    }


def _render_truthy(template: str, context: Mapping[str, Any]) -> bool:
    try:
        return is_truthy(render(template, context))
    except ExpressionError:
        return False


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _moment(condition: Any, context: Mapping[str, Any], now: datetime) -> datetime:
    text = render(condition.date, context) if condition.date else now.isoformat()
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def matches(condition: c.Condition, execution: Execution, state: str, now: datetime,
            context: Mapping[str, Any] | None = None) -> bool:
    """Whether `condition` holds for `execution` in `state` at `now`."""
    context = context or execution_context(execution, state, now)
    if isinstance(condition, (c.ExecutionFlow, c.FlowCondition)):
        return execution.namespace == condition.namespace and execution.flow_id == condition.flow_id
    if isinstance(condition, (c.ExecutionStatus, c.HasRetryAttempt)):
        return (not condition.in_ or state in condition.in_) and state not in condition.not_in
    if isinstance(condition, (c.ExecutionNamespace, c.FlowNamespace)):
        comparison = getattr(condition, "comparison", None) or ("PREFIX" if condition.prefix else "EQUALS")
        namespace = execution.namespace
        return {"EQUALS": namespace == condition.namespace,
                "PREFIX": namespace.startswith(condition.namespace),
                "SUFFIX": namespace.endswith(condition.namespace)}[comparison]
    if isinstance(condition, c.ExecutionLabels):
        wanted = condition.labels
        if isinstance(wanted, list):
            wanted = {item["key"]: item["value"] for item in wanted}
        return all(str(execution.labels.get(k)) == str(v) for k, v in wanted.items())
    if isinstance(condition, (c.Expression, c.ExecutionOutputs)):
        return _render_truthy(condition.expression, context)
    if isinstance(condition, c.Not):
        return not any(matches(x, execution, state, now, context) for x in condition.conditions)
    if isinstance(condition, c.Or):
        return any(matches(x, execution, state, now, context) for x in condition.conditions)
    if isinstance(condition, c.Weekend):
        return _moment(condition, context, now).weekday() >= 5
    if isinstance(condition, c.DayWeek):
        return _moment(condition, context, now).strftime("%A").upper() == condition.day_of_week
    if isinstance(condition, c.DateTimeBetween):
        moment = _moment(condition, context, now)
        after = _instant(condition.after) if condition.after else None
        before = _instant(condition.before) if condition.before else None
        return (after is None or moment >= after) and (before is None or moment <= before)
    if isinstance(condition, c.TimeBetween):
        clock = _moment(condition, context, now).time()
        start = time.fromisoformat(condition.after) if condition.after else None
        end = time.fromisoformat(condition.before) if condition.before else None
        return (start is None or clock >= start) and (end is None or clock <= end)
    raise UnsupportedCondition(f"condition `{condition.type}` is not evaluated by ostinato yet")
