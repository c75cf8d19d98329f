"""Models of Kestra's file tasks: `WorkingDirectory` (a flowable whose children share one
directory on a worker), the deprecated `LocalFiles`, the `storage.*` tasks, `http.Download`
and `log.Fetch`.

Property values stay raw (templates rendered by the runners at run time), as elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ostinato.flow.tasks import BlockTask, KestraModel, Task, kestra_task


class WorkingDirectoryCache(KestraModel):
    """Kestra's `cache`: accepted, and ignored with a warning at run time (no cache here)."""

    patterns: list[str]
    ttl: str | None = None


@kestra_task(
    "io.kestra.plugin.core.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.WorkingDirectory",
    "io.kestra.core.tasks.flows.Worker",
)
class WorkingDirectory(BlockTask):
    """Runnable children run one after another in one directory on a worker."""

    child_fields: ClassVar[tuple[str, ...]] = ("tasks", "errors", "finally_")
    tasks: list[Task] = Field(min_length=1)
    input_files: dict[str, Any] | str | None = None
    output_files: list[str] | str | None = None
    namespace_files: dict[str, Any] | None = None
    cache: WorkingDirectoryCache | None = None

    @model_validator(mode="after")
    def _only_runnable_children(self) -> WorkingDirectory:
        # Kestra's WorkingDirectoryTaskValidator, same messages
        if any(child.flowable for child in self.tasks):
            raise ValueError("Only runnable tasks are allowed as children of a WorkingDirectory task")
        if any(child.worker_group is not None for child in self.tasks):
            raise ValueError("Cannot set a Worker Group in any WorkingDirectory sub-tasks, it is "
                             "only supported at the WorkingDirectory level")
        return self


@dataclass(frozen=True)
class WorkingGroup:
    """What a child of a WorkingDirectory carries to the worker."""

    #: the WorkingDirectory's task run id
    id: str
    task_id: str
    input_files: Any = None
    namespace_files: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "taskId": self.task_id, "inputFiles": self.input_files,
                           "namespaceFiles": self.namespace_files}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> WorkingGroup | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(data["id"], data["taskId"], data.get("inputFiles"), data.get("namespaceFiles"))


@kestra_task("io.kestra.plugin.core.storage.LocalFiles", "io.kestra.core.tasks.storages.LocalFiles")
class LocalFiles(Task):
    """Deprecated in Kestra: writes `inputs` into the working directory, uploads `outputs`."""

    inputs: dict[str, Any] | str | None = None
    outputs: list[str] | str | None = None


@kestra_task("io.kestra.plugin.core.storage.Write", "io.kestra.core.tasks.storages.Write")
class Write(Task):
    content: Any
    extension: str = ".ion"


@kestra_task("io.kestra.plugin.core.storage.Concat", "io.kestra.core.tasks.storages.Concat")
class Concat(Task):
    files: list[str] | str
    separator: str | None = None
    extension: str = ".tmp"


@kestra_task("io.kestra.plugin.core.storage.Split", "io.kestra.core.tasks.storages.Split")
class Split(Task):
    from_: str = Field(alias="from")
    bytes: str | int | None = None
    lines: int | str | None = None
    partitions: int | str | None = None
    rows: int | str | None = None
    separator: str = "\n"

    @model_validator(mode="after")
    def _one_way(self) -> Split:
        given = [n for n in ("bytes", "lines", "partitions", "rows") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("Invalid configuration with no size, count, nor rows: set exactly "
                             "one of `bytes`, `partitions` or `rows`")
        return self


@kestra_task("io.kestra.plugin.core.storage.Size", "io.kestra.core.tasks.storages.Size")
class Size(Task):
    uri: str


@kestra_task("io.kestra.plugin.core.storage.Delete", "io.kestra.core.tasks.storages.Delete")
class Delete(Task):
    uri: str
    error_on_missing: bool | str = False


@kestra_task("io.kestra.plugin.core.storage.DeduplicateItems",
             "io.kestra.core.tasks.storages.DeduplicateItems")
class DeduplicateItems(Task):
    from_: str = Field(alias="from")
    expr: str


@kestra_task("io.kestra.plugin.core.storage.FilterItems", "io.kestra.core.tasks.storages.FilterItems")
class FilterItems(Task):
    from_: str = Field(alias="from")
    filter_condition: str
    filter_type: Literal["INCLUDE", "EXCLUDE"] = "INCLUDE"
    error_or_null_behavior: Literal["FAIL", "INCLUDE", "EXCLUDE"] = "FAIL"


@kestra_task(
    "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles",
    "io.kestra.plugin.core.storage.PurgeExecution",
    "io.kestra.core.tasks.storages.PurgeExecution",
)
class PurgeCurrentExecutionFiles(Task):
    pass


@kestra_task("io.kestra.plugin.core.http.Download", "io.kestra.plugin.fs.http.Download")
class Download(Task):
    uri: str
    method: str = "GET"
    body: Any = None
    form_data: dict[str, Any] | None = None
    content_type: str | None = None
    headers: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    fail_on_empty_response: bool | str = True
    allow_failed: bool = False
    encrypt_body: bool = False


@kestra_task("io.kestra.plugin.core.log.Fetch", "io.kestra.core.tasks.log.Fetch")
class LogFetch(Task):
    namespace: str | None = None
    flow_id: str | None = None
    execution_id: str | None = None
    tasks_id: list[str] | None = None
    level: Literal["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] = "INFO"

    @field_validator("tasks_id", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value
