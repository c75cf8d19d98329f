"""Models of Kestra's execution-changing, looping, templating and old debug tasks.

`Labels` and `Exit` change the running execution itself: the decider applies them (Kestra's
`ExecutionUpdatableTask`, run by its executor), they never reach a worker. `LoopUntil`
(Kestra's newer name of `WaitFor`, which stays its alias) is a flowable. `Assert`,
`TemplatedTask` and `Echo` are runnable. `Template` (Kestra's deprecated flow templates,
disabled by default in Kestra) is refused at validation with the alternative named.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ostinato.execution.states import StateType
from ostinato.flow.tasks import BlockTask, KestraModel, Task, _check_duration, kestra_task

#: Exit's `state` values and the state each gives (Kestra spells CANCELED with one L; the
#: state's own name CANCELLED is accepted too)
EXIT_STATES: dict[str, StateType] = {
    **{state.value: state for state in (StateType.SUCCESS, StateType.WARNING, StateType.KILLED,
                                        StateType.FAILED, StateType.CANCELLED)},
    "CANCELED": StateType.CANCELLED,
}


class ExecutionUpdatingTask(Task):
    """A task the decider applies to the execution itself (never sent to a worker)."""


@kestra_task("io.kestra.plugin.core.execution.Labels", "io.kestra.core.tasks.executions.Labels")
class Labels(ExecutionUpdatingTask):
    """Adds or overrides labels of the running execution (`system.*` ones are refused)."""

    labels: str | dict[str, Any] | list[dict[str, Any]]


@kestra_task("io.kestra.plugin.core.execution.Exit")
class Exit(ExecutionUpdatingTask):
    """Ends the execution in `state`; KILLED kills what still runs."""

    state: str = StateType.SUCCESS.value

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if "{{" not in value and value not in EXIT_STATES:
            raise ValueError(f"`state` must be one of {', '.join(EXIT_STATES)}, got `{value}`")
        return value


@kestra_task("io.kestra.plugin.core.execution.Assert")
class Assert(Task):
    """Fails when one of `conditions` renders falsy, naming each failed condition."""

    conditions: list[str] = Field(min_length=1)
    error_message: str | None = None


class CheckFrequency(KestraModel):
    """How often a LoopUntil runs its tasks again, and when it gives up."""

    max_iterations: int | str | None = None
    max_duration: str | None = None
    interval: str = "PT1M"

    _durations = field_validator("max_duration", "interval")(
        classmethod(lambda cls, v: _check_duration(v))
    )


@kestra_task("io.kestra.plugin.core.flow.LoopUntil", "io.kestra.plugin.core.flow.WaitFor")
class LoopUntil(BlockTask):
    """Runs `tasks` again, every `checkFrequency.interval`, until `condition` is truthy."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    condition: str | bool
    tasks: list[Task] = Field(min_length=1)
    fail_on_max_reached: bool | str = False
    check_frequency: CheckFrequency = Field(default_factory=CheckFrequency)


@kestra_task(
    "io.kestra.plugin.core.templating.TemplatedTask",
    "io.kestra.core.tasks.templating.TemplatedTask",
)
class TemplatedTask(Task):
    """`spec` is rendered, read as the YAML of a runnable task, and that task is run."""

    spec: str


@kestra_task("io.kestra.plugin.core.debug.Echo", "io.kestra.core.tasks.debugs.Echo")
class Echo(Task):
    """Kestra's deprecated Log: logs `format` at `level`."""

    format: str = Field(min_length=1)
    level: Literal["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] = "INFO"


@kestra_task("io.kestra.plugin.core.flow.Template", "io.kestra.core.tasks.flows.Template")
class Template(Task):
    """Kestra's deprecated templates: refused, with what to use instead."""

    @model_validator(mode="before")
    @classmethod
    def _refused(cls, data: Any) -> Any:
        raise PydanticCustomError(
            "template_unsupported",
            "`io.kestra.plugin.core.flow.Template` is not supported: templates are deprecated "
            "(and disabled by default) in Kestra; call the reusable tasks as a flow with "
            "`io.kestra.plugin.core.flow.Subflow` instead",
        )
