"""Trigger and condition models (validation only)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from ostinato.flow.conditions import (
    Condition,
    DayWeek,
    ExecutionFlow,
    ExecutionStatus,
    MultipleCondition,
    Not,
    Or,
    known_condition_types,
)
from ostinato.flow.parser import parse_flow, validate_flow
from ostinato.flow.triggers import (
    FlowTrigger,
    Schedule,
    Trigger,
    Webhook,
    cron_problem,
    known_trigger_types,
)

TRIGGER = TypeAdapter(Trigger)
CONDITION = TypeAdapter(Condition)
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"


@pytest.mark.parametrize("cron, seconds", [
    ("0 * * * *", False), ("*/15 9-17 * * MON-FRI", False), ("0 0 L * *", False),
    ("0 0 * * 1#2", False), ("0 0 12 ? * MON", True), ("30 0 * * * *", True),
    ("@daily", False), ("@hourly", False), ("@weekly", False), ("@monthly", False),
    ("@yearly", False), ("@annually", False), ("@midnight", False), ("@daily", True),
])
def test_valid_crons(cron: str, seconds: bool) -> None:
    assert cron_problem(cron, seconds) is None
    trigger = TRIGGER.validate_python({"id": "s", "type": SCHEDULE, "cron": cron, "withSeconds": seconds})
    assert isinstance(trigger, Schedule)


@pytest.mark.parametrize("cron, seconds, fragment", [
    ("61 * * * *", False, "invalid cron expression `61 * * * *`"),
    ("0 * * * * *", False, "expected 5 fields"),
    ("0 * * * *", True, "expected 6 fields"),
    ("@often", False, "unknown cron nickname"),
    ("every day", False, "expected 5 fields"),
])
def test_invalid_crons(cron: str, seconds: bool, fragment: str) -> None:
    problem = cron_problem(cron, seconds)
    assert problem is not None and fragment in problem
    with pytest.raises(ValidationError) as info:
        TRIGGER.validate_python({"id": "s", "type": SCHEDULE, "cron": cron, "withSeconds": seconds})
    assert info.value.errors()[0]["loc"] == ("cron",)


def test_schedule_fields_and_old_alias() -> None:
    trigger = TRIGGER.validate_python({
        "id": "nightly", "type": "io.kestra.core.models.triggers.types.Schedule",
        "cron": "0 2 * * *", "timezone": "Europe/Paris", "inputs": {"a": 1},
        "lateMaximumDelay": "PT1H", "recoverMissedSchedules": "LAST",
        "backfill": {"start": "2024-01-01T00:00:00Z"}, "stopAfter": ["FAILED"],
        "disabled": True, "labels": [{"key": "k", "value": "v"}],
        "conditions": [{"type": "io.kestra.plugin.core.condition.Weekend"}],
    })
    assert isinstance(trigger, Schedule)
    assert trigger.timezone == "Europe/Paris" and trigger.recover_missed_schedules == "LAST"
    assert trigger.disabled and trigger.stop_after == ["FAILED"]
    with pytest.raises(ValidationError, match="unknown time zone `Nowhere/City`"):
        TRIGGER.validate_python({"id": "s", "type": SCHEDULE, "cron": "@daily", "timezone": "Nowhere/City"})
    with pytest.raises(ValidationError):
        TRIGGER.validate_python({"id": "s", "type": SCHEDULE, "cron": "@daily", "lateMaximumDelay": "soon"})


def test_flow_trigger_with_preconditions() -> None:
    trigger = TRIGGER.validate_python({
        "id": "listen", "type": "io.kestra.plugin.core.trigger.Flow",
        "states": ["SUCCESS", "WARNING"],
        "inputs": {"x": "{{ trigger.outputs.a }}"},
        "preconditions": {
            "id": "both",
            "flows": [{"namespace": "a", "flowId": "f", "states": ["SUCCESS"]}],
            "where": [{"id": "w", "operand": "OR", "filters": [
                {"field": "NAMESPACE", "type": "IN", "values": ["a", "b"]},
                {"field": "EXPRESSION", "type": "IS_TRUE", "value": "{{ true }}"},
            ]}],
            "timeWindow": {"type": "SLIDING_WINDOW", "window": "PT1H"},
            "resetOnSuccess": False,
        },
    })
    assert isinstance(trigger, FlowTrigger)
    assert trigger.preconditions is not None
    assert trigger.preconditions.time_window is not None
    assert trigger.preconditions.time_window.window == "PT1H"
    assert trigger.preconditions.where[0].operand == "OR"
    assert trigger.preconditions.reset_on_success is False
    old = TRIGGER.validate_python({"id": "o", "type": "io.kestra.core.models.triggers.types.Flow"})
    assert isinstance(old, FlowTrigger)


@pytest.mark.parametrize("preconditions, fragment", [
    ({"where": [{"id": "w", "filters": [{"field": "FLOW", "type": "EQUAL_TO", "value": "x"}]}]}, "field"),
    ({"where": [{"id": "w", "filters": [{"field": "FLOW_ID", "type": "EQUAL_TO"}]}]}, "needs `value`"),
    ({"timeWindow": {"type": "DAILY_TIME_DEADLINE"}}, "needs `deadline`"),
    ({"timeWindow": {"type": "DURATION_WINDOW", "window": "an hour"}}, "ISO-8601"),
    ({"flows": [{"namespace": "a", "flowId": "f", "states": ["DONE"]}]}, "states"),
])
def test_bad_preconditions(preconditions: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        TRIGGER.validate_python({"id": "f", "type": "io.kestra.plugin.core.trigger.Flow",
                                 "preconditions": preconditions})
    assert fragment in str(info.value)


def test_webhook() -> None:
    trigger = TRIGGER.validate_python({"id": "hook", "type": "io.kestra.plugin.core.trigger.Webhook",
                                       "key": "s3cret", "wait": True, "returnOutputs": True})
    assert isinstance(trigger, Webhook) and trigger.wait and trigger.return_outputs
    with pytest.raises(ValidationError) as info:
        TRIGGER.validate_python({"id": "hook", "type": "io.kestra.core.models.triggers.types.Webhook"})
    assert info.value.errors()[0]["loc"] == ("key",)


def test_unknown_trigger_type_and_property() -> None:
    errors = validate_flow(
        "id: f\nnamespace: a\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n"
        "triggers:\n"
        "  - id: a\n    type: io.kestra.plugin.core.trigger.Nope\n"
        "  - id: b\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n    secret: x\n"
    )
    assert [(e.path, e.line, e.message) for e in errors] == [
        ("triggers[0].type", 8, "unknown trigger type `io.kestra.plugin.core.trigger.Nope`"),
        ("triggers[1].secret", 12,
         "unknown property `secret` for type `io.kestra.plugin.core.trigger.Webhook`"),
    ]


def test_conditions_and_their_old_names() -> None:
    names = known_condition_types()
    for short in ("ExecutionFlow", "ExecutionStatus", "ExecutionNamespace", "ExecutionLabels",
                  "Expression", "DayWeek", "DayWeekInMonth", "DateTimeBetween", "TimeBetween",
                  "Weekend", "Not", "Or", "PublicHoliday", "ExecutionOutputs"):
        assert f"io.kestra.plugin.core.condition.{short}" in names
        assert f"io.kestra.core.models.conditions.types.{short}Condition" in names
    assert "io.kestra.core.models.conditions.types.MultipleCondition" in names

    status = CONDITION.validate_python({"type": "io.kestra.core.models.conditions.types.ExecutionStatusCondition",
                                        "in": ["SUCCESS"], "notIn": ["FAILED"]})
    assert isinstance(status, ExecutionStatus) and status.in_ == ["SUCCESS"]
    flow = CONDITION.validate_python({"type": "io.kestra.plugin.core.condition.ExecutionFlow",
                                      "namespace": "a", "flowId": "b"})
    assert isinstance(flow, ExecutionFlow) and flow.flow_id == "b"
    nested = CONDITION.validate_python({"type": "io.kestra.plugin.core.condition.Not", "conditions": [
        {"type": "io.kestra.plugin.core.condition.Or", "conditions": [
            {"type": "io.kestra.plugin.core.condition.DayWeek", "dayOfWeek": "MONDAY"},
            {"type": "io.kestra.plugin.core.condition.Expression", "expression": "{{ true }}"},
        ]},
    ]})
    assert isinstance(nested, Not) and isinstance(nested.conditions[0], Or)
    assert isinstance(nested.conditions[0].conditions[0], DayWeek)
    multiple = CONDITION.validate_python({
        "type": "io.kestra.core.models.conditions.types.MultipleCondition", "window": "PT1D",
        "conditions": {"a": {"type": "io.kestra.plugin.core.condition.ExecutionStatus", "in": ["SUCCESS"]}},
    })
    assert isinstance(multiple, MultipleCondition)


def test_bad_conditions_in_a_flow() -> None:
    errors = validate_flow(
        "id: f\nnamespace: a\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n"
        "triggers:\n"
        "  - id: t\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.ExecutionStatus\n        in: [DONE]\n"   # 10
        "      - type: io.kestra.plugin.core.condition.DayWeek\n"                               # 12
        "      - type: io.kestra.plugin.core.condition.Moon\n"                                  # 13
    )
    assert [(e.path, e.line) for e in errors] == [
        ("triggers[0].conditions[0].in[0]", 11),
        ("triggers[0].conditions[1].dayOfWeek", 12),
        ("triggers[0].conditions[2].type", 13),
    ]
    assert errors[2].message == "unknown condition type `io.kestra.plugin.core.condition.Moon`"


def test_flow_keeps_typed_triggers() -> None:
    flow = parse_flow(
        "id: f\nnamespace: a\ntasks:\n- id: r\n  type: io.kestra.plugin.core.debug.Return\n"
        "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
    )
    assert isinstance(flow.triggers[0], Schedule)
    assert SCHEDULE in known_trigger_types()
