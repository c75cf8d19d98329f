"""The Flow model: every top-level property of a Kestra flow."""

from __future__ import annotations

from typing import Any, Iterator, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from ostinato.flow.durations import parse_duration
from ostinato.flow.inputs import Input
from ostinato.flow.tasks import ID_PATTERN, KestraModel, Retry, Task
from ostinato.flow.triggers import Trigger

NAMESPACE_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


class Output(KestraModel):
    """A flow output, rendered when the execution ends."""

    id: str = Field(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    type: Literal[
        "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE", "TIME", "DURATION",
        "FILE", "JSON", "YAML", "URI", "ARRAY", "ENUM", "SELECT", "MULTISELECT", "EMAIL",
        "SECRET",
    ] = "STRING"
    value: Any
    description: str | None = None
    display_name: str | None = None
    required: bool = True


class PluginDefault(KestraModel):
    """`pluginDefaults` (old name `taskDefaults`): property values for a task type."""

    type: str
    values: dict[str, Any] = Field(default_factory=dict)
    forced: bool = False


class Concurrency(KestraModel):
    """How many executions of this flow may run at once, and what to do past that."""

    limit: int = Field(ge=1)
    behavior: Literal["QUEUE", "CANCEL", "FAIL"] = "QUEUE"


class Sla(KestraModel):
    """A service-level agreement on executions of the flow, checked by the decider
    (ostinato/decider/sla.py): MAX_DURATION from the execution's creation, or
    EXECUTION_ASSERTION each time an unfinished execution changes. A violation FAILs or
    CANCELs the execution (NONE: neither) and adds `labels`."""

    id: str
    type: Literal["MAX_DURATION", "EXECUTION_ASSERTION"]
    behavior: Literal["FAIL", "CANCEL", "NONE"] = "FAIL"
    duration: str | None = None
    assert_: str | None = Field(default=None, alias="assert")
    labels: dict[str, Any] | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_map(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = {str(item.get("key")): item.get("value") for item in value if isinstance(item, dict)}
        if isinstance(value, dict):
            system = [k for k in value if str(k).startswith("system.")]
            if system:
                raise ValueError(f"system labels may not be set by an SLA: {', '.join(system)}")
        return value

    @model_validator(mode="after")
    def _check_kind(self) -> Sla:
        if self.type == "MAX_DURATION":
            if self.duration is None:
                raise ValueError("a MAX_DURATION SLA needs `duration`")
            parse_duration(self.duration)
        if self.type == "EXECUTION_ASSERTION" and not self.assert_:
            raise ValueError("an EXECUTION_ASSERTION SLA needs `assert`")
        return self


class Flow(KestraModel):
    """A Kestra flow. Task ids are unique across the whole flow (see `task`)."""

    id: str = Field(pattern=ID_PATTERN, max_length=100)
    namespace: str = Field(pattern=NAMESPACE_PATTERN, max_length=150)
    revision: int | None = Field(default=None, ge=1)
    tenant_id: str | None = None
    description: str | None = None
    labels: dict[str, Any] = Field(default_factory=dict)
    inputs: list[Input] = Field(default_factory=list)
    outputs: list[Output] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)
    tasks: list[Task] = Field(min_length=1)
    errors: list[Task] = Field(default_factory=list)
    finally_: list[Task] = Field(default_factory=list, alias="finally")
    after_execution: list[Task] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    plugin_defaults: list[PluginDefault] = Field(default_factory=list)
    task_defaults: list[PluginDefault] = Field(default_factory=list)
    retry: Retry | None = None
    concurrency: Concurrency | None = None
    sla: list[Sla] = Field(default_factory=list)
    disabled: bool = False
    deleted: bool = False

    _tasks_by_id: dict[str, Task] = PrivateAttr(default_factory=dict)
    _parent_of: dict[str, str | None] = PrivateAttr(default_factory=dict)
    _reads_task_states: bool | None = PrivateAttr(default=None)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_map(cls, value: Any) -> Any:
        """Kestra accepts labels as a map or as a list of {key, value}."""
        if isinstance(value, list):
            out: dict[str, Any] = {}
            for item in value:
                if not isinstance(item, dict) or set(item) != {"key", "value"}:
                    raise ValueError("a label in a list must be a map of `key` and `value`")
                out[str(item["key"])] = item["value"]
            return out
        return value

    @model_validator(mode="after")
    def _index_tasks(self) -> Flow:
        self._tasks_by_id = {}
        self._parent_of = {}
        for block in (self.tasks, self.errors, self.finally_, self.after_execution):
            for task in block:
                self._index(task, None)
        return self

    def _index(self, task: Task, parent: str | None) -> None:
        # Duplicates are reported by the validator with their paths; keep the first here.
        self._tasks_by_id.setdefault(task.id, task)
        self._parent_of.setdefault(task.id, parent)
        for _, children in task.child_lists():
            for child in children:
                self._index(child, task.id)

    @property
    def uid(self) -> str:
        """`namespace.id`, how Kestra names a flow in messages."""
        return f"{self.namespace}.{self.id}"

    def task(self, task_id: str) -> Task:
        """The task with this id, wherever it is in the flow."""
        # read the private store directly: pydantic's __getattr__ for private attributes
        # costs about as much as the rest of a lookup, and the decider asks on every event
        return self.__pydantic_private__["_tasks_by_id"][task_id]  # type: ignore[index]

    def parent_task_id(self, task_id: str) -> str | None:
        """The id of the flowable task that holds `task_id` (None at the top level)."""
        return self.__pydantic_private__["_parent_of"][task_id]  # type: ignore[index]

    def reads_task_states(self) -> bool:
        """Whether an expression of the flow reads the `tasks` variable (the state of each
        task's runs), so that contexts build it only for flows that use it. Found once."""
        private = self.__pydantic_private__
        assert private is not None
        found = private.get("_reads_task_states")
        if found is None:
            found = private["_reads_task_states"] = any(
                _reads_tasks(text) for text in strings_in(self.model_dump(by_alias=True, serialize_as_any=True)))
        return bool(found)

    def all_tasks(self) -> list[Task]:
        """Every task of the flow, depth first."""
        return list(self._tasks_by_id.values())

    def defaults_for(self) -> list[PluginDefault]:
        """pluginDefaults and the older taskDefaults, in declaration order."""
        return [*self.plugin_defaults, *self.task_defaults]


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included (where templates can hide)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def _reads_tasks(text: str) -> bool:
    """An expression in `text` reads `tasks` (or may, through render())."""
    if "{" not in text or ("tasks" not in text and "render" not in text):
        return False
    from ostinato.expressions import ExpressionError, referenced_variables

    try:
        return "tasks" in referenced_variables(text) or "render(" in text
    except ExpressionError:
        return False
