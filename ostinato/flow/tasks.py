"""The task models: common properties, then one class per core Kestra task type.

Property values that Kestra renders at run time stay raw here (strings that may hold
`{{ ... }}`); validation checks their shape and never renders a template. Flowable tasks
(resolved by the decider) declare their child task lists; runnable tasks are executed by a
worker through `ostinato.tasks`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from ostinato.flow.durations import parse_duration
from ostinato.flow.registry import UnknownTaskType, register_task, resolve_task_type

ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"


class KestraModel(BaseModel):
    """Base of every flow model: camelCase names as in Kestra's YAML, no unknown property."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=False
    )


def _check_duration(value: Any) -> Any:
    if isinstance(value, str) and "{{" not in value:
        parse_duration(value)
    return value


class Retry(KestraModel):
    """Kestra's retry policy (`constant`, `exponential` or `random`)."""

    type: Literal["constant", "exponential", "random"]
    interval: str | None = None
    max_interval: str | None = None
    min_interval: str | None = None
    delay_factor: float | None = None
    max_attempt: int | None = Field(default=None, ge=1)
    max_attempts: int | None = Field(default=None, ge=1)  # alias seen in older flows
    max_duration: str | None = None
    warning_on_retry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"

    _durations = field_validator("interval", "max_interval", "min_interval", "max_duration")(
        classmethod(lambda cls, v: _check_duration(v))
    )

    @model_validator(mode="after")
    def _check_shape(self) -> Retry:
        if self.type == "constant" and self.interval is None:
            raise ValueError("a constant retry needs `interval`")
        if self.type == "exponential" and (self.interval is None or self.max_interval is None):
            raise ValueError("an exponential retry needs `interval` and `maxInterval`")
        if self.type == "random" and (self.min_interval is None or self.max_interval is None):
            raise ValueError("a random retry needs `minInterval` and `maxInterval`")
        if self.max_attempt is None and self.max_attempts is not None:
            self.max_attempt = self.max_attempts
        if self.max_attempt is None and self.max_duration is None:
            raise ValueError("a retry needs `maxAttempt` or `maxDuration`")
        return self


class Task(KestraModel):
    """Properties every task has. Subclasses add their own and register their type names."""

    type_name: ClassVar[str] = ""
    #: names of fields that hold child tasks (lists of Task, or dicts of lists for Switch)
    child_fields: ClassVar[tuple[str, ...]] = ()
    #: True for tasks the decider resolves itself (never sent to a worker)
    flowable: ClassVar[bool] = False

    id: str = Field(pattern=ID_PATTERN, max_length=256)
    type: str
    description: str | None = None
    retry: Retry | None = None
    timeout: str | None = None
    disabled: bool = False
    allow_failure: bool = False
    allow_warning: bool = False
    run_if: str | bool | None = None
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] | None = None
    worker_group: dict[str, Any] | None = None
    log_to_file: bool = False

    _timeout = field_validator("timeout")(classmethod(lambda cls, v: _check_duration(v)))

    @model_validator(mode="wrap")
    @classmethod
    def _dispatch_on_type(cls, data: Any, handler: Any) -> Any:
        """Validating against `Task` itself builds the class registered for `type`."""
        if cls is Task and isinstance(data, dict):
            # Errors come out as pydantic errors (never a bare exception), so that every
            # problem of every task of a flow is reported at once.
            if "type" not in data:
                raise PydanticCustomError("missing_task_type", "missing required property `type`")
            if not isinstance(data["type"], str):
                raise PydanticCustomError(
                    "task_type_not_string", "a task `type` must be a string"
                )
            try:
                target = resolve_task_type(data["type"])
            except UnknownTaskType as error:  # its message says what to use instead, if known
                raise PydanticCustomError(
                    "unknown_task_type", "{message}", {"type": data["type"], "message": str(error)}
                ) from None
            return target.model_validate(data)
        return handler(data)

    def child_lists(self) -> list[tuple[str, list[Task]]]:
        """Every list of child tasks, with its field name (`then`, `cases.A`, ...)."""
        out: list[tuple[str, list[Task]]] = []
        for name in self.child_fields:
            value = getattr(self, name)
            if isinstance(value, dict):
                out.extend((f"{name}.{key}", tasks) for key, tasks in value.items() if tasks)
            elif isinstance(value, list) and value and isinstance(value[0], DagTask):
                out.append((name, [item.task for item in value]))
            elif value:
                out.append((name, value))
        return out


def kestra_task(*names: str) -> Any:
    """Class decorator: register a task class under its Kestra name and aliases."""

    def wrap(cls: type[Task]) -> type[Task]:
        register_task(cls, *names)
        return cls

    return wrap


# ----------------------------------------------------------------- flowable tasks

class BlockTask(Task):
    """A flowable task with local `errors` and `finally` lists."""

    flowable: ClassVar[bool] = True
    errors: list[Task] = Field(default_factory=list)
    finally_: list[Task] = Field(default_factory=list, alias="finally")


@kestra_task("io.kestra.plugin.core.flow.Sequential", "io.kestra.core.tasks.flows.Sequential")
class Sequential(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task] = Field(min_length=1)


@kestra_task("io.kestra.plugin.core.flow.AllowFailure", "io.kestra.core.tasks.flows.AllowFailure")
class AllowFailure(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task] = Field(min_length=1)


@kestra_task("io.kestra.plugin.core.flow.Parallel", "io.kestra.core.tasks.flows.Parallel")
class Parallel(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task] = Field(min_length=1)
    concurrent: int = Field(default=0, ge=0)


@kestra_task("io.kestra.plugin.core.flow.Switch", "io.kestra.core.tasks.flows.Switch")
class Switch(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("cases", "defaults", "errors", "finally_")
    value: str
    cases: dict[str, list[Task]] = Field(default_factory=dict)
    defaults: list[Task] | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _stringify(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float, bool)) else v

    @field_validator("cases", mode="before")
    @classmethod
    def _string_keys(cls, v: Any) -> Any:
        # YAML reads `1:` as an int key; Kestra compares the rendered value as a string.
        if isinstance(v, dict):
            return {_yaml_key(k): tasks for k, tasks in v.items()}
        return v


def _yaml_key(key: Any) -> str:
    if isinstance(key, bool):
        return str(key).lower()
    return str(key)


@kestra_task("io.kestra.plugin.core.flow.If", "io.kestra.core.tasks.flows.If")
class If(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("then", "else_", "errors", "finally_")
    condition: str | bool | int
    then: list[Task] = Field(min_length=1)
    else_: list[Task] = Field(default_factory=list, alias="else")


@kestra_task("io.kestra.plugin.core.flow.ForEach", "io.kestra.core.tasks.flows.ForEach")
class ForEach(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    values: str | list[Any]
    concurrency_limit: int = Field(default=1, ge=0)
    tasks: list[Task] = Field(min_length=1)


@kestra_task(
    "io.kestra.plugin.core.flow.EachSequential",
    "io.kestra.core.tasks.flows.EachSequential",
)
class EachSequential(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    value: str | list[Any]
    tasks: list[Task] = Field(min_length=1)


@kestra_task(
    "io.kestra.plugin.core.flow.EachParallel", "io.kestra.core.tasks.flows.EachParallel"
)
class EachParallel(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    value: str | list[Any]
    concurrent: int = Field(default=0, ge=0)
    tasks: list[Task] = Field(min_length=1)


class DagTask(KestraModel):
    """One node of a Dag: a task and the ids of the nodes it waits for."""

    task: Task
    depends_on: list[str] = Field(default_factory=list)


@kestra_task("io.kestra.plugin.core.flow.Dag", "io.kestra.core.tasks.flows.Dag")
class Dag(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[DagTask] = Field(min_length=1)
    concurrent: int = Field(default=0, ge=0)


class PauseInput(KestraModel):
    """An `onResume` input of a Pause task (same shape as a flow input)."""

    id: str
    type: str = "STRING"
    description: str | None = None
    required: bool = True
    defaults: Any = None
    display_name: str | None = None


@kestra_task("io.kestra.plugin.core.flow.Pause", "io.kestra.core.tasks.flows.Pause")
class Pause(BlockTask):
    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    delay: str | None = None
    pause_duration: str | None = None
    behavior: Literal["RESUME", "WARN", "FAIL", "CANCEL"] = "RESUME"
    on_resume: list[PauseInput] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)

    _durations = field_validator("delay", "pause_duration")(
        classmethod(lambda cls, v: _check_duration(v))
    )


@kestra_task(
    "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Subflow",
    "io.kestra.core.tasks.flows.Flow",
    "io.kestra.plugin.core.flow.Flow",
)
class Subflow(Task):
    """Starts an execution of another flow; resolved by the executor, not a worker."""

    flowable: ClassVar[bool] = True
    namespace: str
    flow_id: str
    revision: int | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    schedule_date: str | None = None
    outputs: dict[str, Any] = Field(default_factory=dict)


# ----------------------------------------------------------------- runnable tasks

@kestra_task("io.kestra.plugin.core.debug.Return", "io.kestra.core.tasks.debugs.Return")
class Return(Task):
    format: Any = None


@kestra_task("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
class Log(Task):
    message: str | list[str] | Any
    level: Literal["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] = "INFO"


@kestra_task(
    "io.kestra.plugin.core.output.OutputValues", "io.kestra.core.tasks.outputs.OutputValues"
)
class OutputValues(Task):
    values: dict[str, Any] = Field(default_factory=dict)


@kestra_task("io.kestra.plugin.core.execution.Fail", "io.kestra.core.tasks.executions.Fail")
class Fail(Task):
    condition: str | bool | None = None
    error_message: str = "Task failure"


@kestra_task("io.kestra.plugin.core.flow.Sleep", "io.kestra.core.tasks.flows.Sleep")
class Sleep(Task):
    duration: str

    _duration = field_validator("duration")(classmethod(lambda cls, v: _check_duration(v)))


@kestra_task("io.kestra.plugin.core.http.Request", "io.kestra.plugin.fs.http.Request")
class HttpRequest(Task):
    uri: str
    method: str = "GET"
    body: Any = None
    form_data: dict[str, Any] | None = None
    content_type: str | None = None
    headers: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    allow_failed: bool = False
    encrypt_body: bool = False


# Kestra's script tasks are part of the core language too (their models live beside).
from ostinato.flow import script_tasks as _script_tasks  # noqa: E402,F401
from ostinato.flow import tasks_execution as _tasks_execution  # noqa: E402,F401
from ostinato.flow import tasks_foreach_item as _tasks_foreach_item  # noqa: E402,F401
from ostinato.flow import tasks_kv as _tasks_kv  # noqa: E402,F401
from ostinato.flow import tasks_storage as _tasks_storage  # noqa: E402,F401
