"""Flow triggers: parsed and validated here; firing belongs to the scheduler service.

Validating against `Trigger` builds the class registered for `type` (Kestra's names and old
aliases), as `Task` does. Cron expressions and time zones are checked; templates never
rendered.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ostinato.flow.conditions import Condition, State
from ostinato.flow.registry import TypeRegistry, UnknownType
from ostinato.flow.tasks import ID_PATTERN, KestraModel, _check_duration
from ostinato.sandbox.regex import RegexError, compile_regex

CRON_NICKNAMES = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


class UnknownTriggerType(UnknownType):
    """A trigger `type` that no registered class answers to."""


TRIGGERS: TypeRegistry[Trigger] = TypeRegistry("trigger", UnknownTriggerType)


def register_trigger(cls: type[Trigger], *names: str) -> type[Trigger]:
    """Register `cls` under each of `names` (canonical name first)."""
    return TRIGGERS.register(cls, *names)


def resolve_trigger_type(name: str) -> type[Trigger]:
    return TRIGGERS.resolve(name)


def known_trigger_types() -> list[str]:
    return TRIGGERS.known()


def kestra_trigger(*names: str) -> Any:
    def wrap(cls: type[Trigger]) -> type[Trigger]:
        register_trigger(cls, *names)
        return cls

    return wrap


def cron_problem(expression: str, with_seconds: bool = False) -> str | None:
    """Why `expression` is not a cron Kestra accepts, or None when it is fine."""
    text = expression.strip()
    if text.lower() in CRON_NICKNAMES:
        return None
    if text.startswith("@"):
        known = ", ".join(sorted(CRON_NICKNAMES))
        return f"unknown cron nickname `{expression}` (known: {known})"
    fields = text.split()
    wanted = 6 if with_seconds else 5
    if len(fields) != wanted:
        hint = " (seconds first, as `withSeconds: true` asks)" if with_seconds else ""
        return (
            f"invalid cron expression `{expression}`: expected {wanted} fields{hint}, "
            f"got {len(fields)}"
        )
    # cron-utils accepts `?` for "no specific value" in the day fields; croniter does not.
    candidate = " ".join("*" if f == "?" else f for f in fields)
    if not croniter.is_valid(candidate, second_at_beginning=with_seconds):
        return f"invalid cron expression `{expression}`"
    return None


class Trigger(KestraModel):
    """Properties every trigger has; subclasses add theirs."""

    type_name: ClassVar[str] = ""

    id: str = Field(pattern=ID_PATTERN, max_length=256)
    type: str
    description: str | None = None
    disabled: bool = False
    conditions: list[Condition] = Field(default_factory=list)
    stop_after: list[State] | None = None
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] | None = None
    log_to_file: bool = False
    worker_group: dict[str, Any] | None = None
    fail_on_trigger_error: bool | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _dispatch_on_type(cls, data: Any, handler: Any) -> Any:
        if cls is Trigger and isinstance(data, dict):
            if "type" not in data:
                raise PydanticCustomError(
                    "missing_trigger_type", "missing required property `type`"
                )
            if not isinstance(data["type"], str):
                raise PydanticCustomError(
                    "trigger_type_not_string", "a trigger `type` must be a string"
                )
            try:
                target = resolve_trigger_type(data["type"])
            except UnknownTriggerType:
                raise PydanticCustomError(
                    "unknown_trigger_type", "unknown trigger type `{type}`",
                    {"type": data["type"]},
                ) from None
            return target.model_validate(data)
        return handler(data)


@kestra_trigger(
    "io.kestra.plugin.core.trigger.Schedule", "io.kestra.core.models.triggers.types.Schedule"
)
class Schedule(Trigger):
    # `with_seconds` precedes `cron` so that the cron validator can read it.
    with_seconds: bool = False
    cron: str
    timezone: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    late_maximum_delay: str | None = None
    recover_missed_schedules: Literal["ALL", "LAST", "NONE"] | None = None
    backfill: dict[str, Any] | None = None
    schedule_conditions: list[Condition] | None = None  # old name of `conditions`
    interval: str | None = None  # deprecated in Kestra, accepted

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str, info: ValidationInfo) -> str:
        if "{{" in value:
            return value
        problem = cron_problem(value, bool(info.data.get("with_seconds", False)))
        if problem:
            raise PydanticCustomError("invalid_cron", problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str | None) -> str | None:
        if value is None or "{{" in value:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "invalid_timezone", "unknown time zone `{zone}`", {"zone": value}
            ) from None
        return value

    _durations = field_validator("late_maximum_delay", "interval")(
        classmethod(lambda cls, v: _check_duration(v))
    )


class UpstreamFlow(KestraModel):
    """One flow whose executions a Flow trigger's preconditions wait for."""

    namespace: str
    flow_id: str
    states: list[State] = Field(default_factory=list)
    labels: dict[str, Any] | None = None


class Filter(KestraModel):
    field: Literal["NAMESPACE", "FLOW_ID", "STATE", "EXPRESSION"]
    type: Literal[
        "EQUAL_TO", "NOT_EQUAL_TO", "IN", "NOT_IN", "IS_TRUE", "IS_FALSE", "IS_NULL",
        "IS_NOT_NULL", "STARTS_WITH", "ENDS_WITH", "REGEX", "CONTAINS",
    ]
    value: Any = None
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _check_value(self) -> Filter:
        needs_values = self.type in ("IN", "NOT_IN")
        needs_nothing = self.type in ("IS_NULL", "IS_NOT_NULL")
        if needs_values and self.values is None and self.value is None:
            raise ValueError(f"a filter of type {self.type} needs `values`")
        if not needs_values and not needs_nothing and self.value is None:
            raise ValueError(f"a filter of type {self.type} needs `value`")
        if self.type == "REGEX" and isinstance(self.value, str) and "{{" not in self.value:
            try:
                compile_regex(self.value)  # the engine that will run it (RE2)
            except RegexError as exc:
                raise ValueError(f"`value` is not usable: {exc}") from None
        return self


class Where(KestraModel):
    id: str
    operand: Literal["AND", "OR"] = "AND"
    filters: list[Filter] = Field(min_length=1)


class TimeWindow(KestraModel):
    type: Literal[
        "DURATION_WINDOW", "SLIDING_WINDOW", "DAILY_TIME_DEADLINE", "DAILY_TIME_WINDOW"
    ] = "DURATION_WINDOW"
    window: str | None = None
    window_advance: str | None = None
    deadline: str | None = None
    start_time: str | None = None
    end_time: str | None = None

    _durations = field_validator("window", "window_advance")(
        classmethod(lambda cls, v: _check_duration(v))
    )

    @model_validator(mode="after")
    def _check_shape(self) -> TimeWindow:
        if self.type == "DAILY_TIME_DEADLINE" and self.deadline is None:
            raise ValueError("a DAILY_TIME_DEADLINE window needs `deadline`")
        if self.type == "DAILY_TIME_WINDOW" and (self.start_time is None or self.end_time is None):
            raise ValueError("a DAILY_TIME_WINDOW window needs `startTime` and `endTime`")
        for name, value in (("deadline", self.deadline), ("startTime", self.start_time),
                            ("endTime", self.end_time)):
            if value is not None and "{{" not in value and not re.fullmatch(
                r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value
            ):
                raise ValueError(f"`{name}` must be a time such as 14:00:00, got `{value}`")
        return self


class Preconditions(KestraModel):
    """A Flow trigger's preconditions: upstream flows and filters within a time window."""

    id: str | None = None
    flows: list[UpstreamFlow] = Field(default_factory=list)
    where: list[Where] = Field(default_factory=list)
    time_window: TimeWindow | None = None
    reset_on_success: bool = True


@kestra_trigger("io.kestra.plugin.core.trigger.Flow", "io.kestra.core.models.triggers.types.Flow")
class FlowTrigger(Trigger):
    inputs: dict[str, Any] = Field(default_factory=dict)
    states: list[State] = Field(default_factory=list)
    preconditions: Preconditions | None = None


@kestra_trigger(
    "io.kestra.plugin.core.trigger.Webhook", "io.kestra.core.models.triggers.types.Webhook"
)
class Webhook(Trigger):
    key: str = Field(min_length=1)
    inputs: dict[str, Any] = Field(default_factory=dict)
    wait: bool = False
    return_outputs: bool = False
