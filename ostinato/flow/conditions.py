"""Trigger conditions: models only (evaluating them belongs to the scheduler / executor).

Each condition class registers its Kestra type names: the current
`io.kestra.plugin.core.condition.X`, the `...XCondition` spelling, and the old
`io.kestra.core.models.conditions.types.XCondition`. Validating against `Condition` builds
the class registered for `type`, as `Task` does.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ostinato.flow.registry import TypeRegistry, UnknownType
from ostinato.flow.tasks import KestraModel

State = Literal[
    "CREATED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING", "FAILED",
    "KILLED", "CANCELLED", "QUEUED", "RETRYING", "RETRIED", "SKIPPED", "BREAKPOINT",
    "RESUBMITTED", "SUBMITTED",
]
DayOfWeek = Literal[
    "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"
]

class UnknownConditionType(UnknownType):
    """A condition `type` that no registered class answers to."""


CONDITIONS: TypeRegistry[Condition] = TypeRegistry("condition", UnknownConditionType)


def register_condition(cls: type[Condition], *names: str) -> type[Condition]:
    """Register `cls` under each of `names` (canonical name first)."""
    return CONDITIONS.register(cls, *names)


def resolve_condition_type(name: str) -> type[Condition]:
    return CONDITIONS.resolve(name)


def known_condition_types() -> list[str]:
    return CONDITIONS.known()


def kestra_condition(short: str, *extra: str) -> Any:
    """Register under the current name, its `Condition`-suffixed and old names, and `extra`."""

    def wrap(cls: type[Condition]) -> type[Condition]:
        names = [
            f"io.kestra.plugin.core.condition.{short}",
            f"io.kestra.plugin.core.condition.{short}Condition",
            f"io.kestra.core.models.conditions.types.{short}Condition",
            f"io.kestra.core.models.conditions.types.{short}",
            *extra,
        ]
        register_condition(cls, *dict.fromkeys(names))
        return cls

    return wrap


class Condition(KestraModel):
    """Properties every condition has; subclasses add theirs."""

    type_name: ClassVar[str] = ""
    type: str

    @model_validator(mode="wrap")
    @classmethod
    def _dispatch_on_type(cls, data: Any, handler: Any) -> Any:
        if cls is Condition and isinstance(data, dict):
            if "type" not in data:
                raise PydanticCustomError(
                    "missing_condition_type", "missing required property `type`"
                )
            if not isinstance(data["type"], str):
                raise PydanticCustomError(
                    "condition_type_not_string", "a condition `type` must be a string"
                )
            try:
                target = resolve_condition_type(data["type"])
            except UnknownConditionType:
                raise PydanticCustomError(
                    "unknown_condition_type", "unknown condition type `{type}`",
                    {"type": data["type"]},
                ) from None
            return target.model_validate(data)
        return handler(data)


@kestra_condition("ExecutionFlow")
class ExecutionFlow(Condition):
    namespace: str
    flow_id: str


@kestra_condition("ExecutionStatus")
class ExecutionStatus(Condition):
    in_: list[State] = Field(default_factory=list, alias="in")
    not_in: list[State] = Field(default_factory=list)


@kestra_condition("ExecutionNamespace")
class ExecutionNamespace(Condition):
    namespace: str
    prefix: bool = False
    comparison: Literal["EQUALS", "PREFIX", "SUFFIX"] | None = None


@kestra_condition("ExecutionLabels")
class ExecutionLabels(Condition):
    labels: dict[str, Any] | list[dict[str, Any]]


@kestra_condition("Expression")
class Expression(Condition):
    expression: str


@kestra_condition("ExecutionOutputs")
class ExecutionOutputs(Condition):
    expression: str


@kestra_condition("DayWeek")
class DayWeek(Condition):
    day_of_week: DayOfWeek
    date: str = "{{ trigger.date }}"


@kestra_condition("DayWeekInMonth")
class DayWeekInMonth(Condition):
    day_of_week: DayOfWeek
    day_in_month: Literal["FIRST", "LAST", "SECOND", "THIRD", "FOURTH"]
    date: str = "{{ trigger.date }}"


@kestra_condition("DateTimeBetween")
class DateTimeBetween(Condition):
    date: str = "{{ trigger.date }}"
    after: str | None = None
    before: str | None = None


@kestra_condition("TimeBetween")
class TimeBetween(Condition):
    date: str = "{{ trigger.date }}"
    after: str | None = None
    before: str | None = None


@kestra_condition("Weekend")
class Weekend(Condition):
    date: str = "{{ trigger.date }}"


@kestra_condition("Not")
class Not(Condition):
    conditions: list[Condition] = Field(min_length=1)


@kestra_condition("Or")
class Or(Condition):
    conditions: list[Condition] = Field(min_length=1)


@kestra_condition("PublicHoliday")
class PublicHoliday(Condition):
    date: str = "{{ trigger.date }}"
    country: str | None = None
    sub_division: str | None = None


@kestra_condition("Flow")
class FlowCondition(Condition):
    """Old: the flow of the trigger is this one."""

    namespace: str
    flow_id: str


@kestra_condition("FlowNamespace")
class FlowNamespace(Condition):
    """Old: the flow of the trigger is in this namespace."""

    namespace: str
    prefix: bool = False


@kestra_condition("HasRetryAttempt")
class HasRetryAttempt(Condition):
    in_: list[State] = Field(default_factory=list, alias="in")
    not_in: list[State] = Field(default_factory=list)


@kestra_condition("Multiple")
class MultipleCondition(Condition):
    """Old form of Flow trigger preconditions: named conditions inside a time window."""

    id: str | None = None
    window: str | None = None
    window_advance: str | None = None
    time_window: dict[str, Any] | None = None
    conditions: dict[str, Condition] = Field(min_length=1)
    reset_on_success: bool = True


register_condition(
    MultipleCondition,
    "io.kestra.plugin.core.condition.MultipleCondition",
    "io.kestra.core.models.conditions.types.MultipleCondition",
)
