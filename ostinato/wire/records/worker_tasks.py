"""`WorkerTask`: what the executor sends a worker on `worker-tasks`, and its record.

The message keeps the task as its `Task` model, rebuilt from the flow's YAML shape; it
is the worker's side of the decider's `RunTask` command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ostinato.protocol import commands as cmd
from ostinato.flow.tasks import Task
from ostinato.wire.records.common import from_json, instant, opt_instant, to_json


@dataclass(frozen=True)
class WorkerTask:
    """What a worker receives: one attempt of a runnable task run."""

    execution_id: str
    task_run_id: str
    attempt: int
    task: Task
    variables: dict[str, Any]
    namespace: str
    flow_id: str
    tenant_id: str | None
    at: datetime
    event_id: str | None = None
    #: when the worker must give up (the task's timeout from `at`), if any
    deadline: datetime | None = None
    #: a WorkingDirectory child's group, JSON text (RunTask.working_directory)
    working_directory: str | None = None

    def run_task(self) -> cmd.RunTask:
        """The decider's command again."""
        return cmd.RunTask(self.execution_id, self.task_run_id, self.attempt, self.task,
                           self.variables, self.working_directory)


def task_json(task: Task) -> str:
    """A task definition as JSON text, shaped like the flow's YAML."""
    # serialize_as_any: child tasks (a WorkingDirectory's) keep the fields of their own types
    return to_json(task.model_dump(by_alias=True, exclude_none=True, serialize_as_any=True))


def worker_task_record(
    command: cmd.RunTask,
    *,
    namespace: str,
    flow_id: str,
    at: datetime,
    tenant_id: str | None = None,
    event_id: str | None = None,
    deadline: datetime | None = None,
) -> dict[str, Any]:
    """The `WorkerTask` record of a RunTask command of an execution of `namespace.flow_id`."""
    return {
        "eventId": event_id,
        "at": instant(at),
        "executionId": command.execution_id,
        "taskRunId": command.task_run_id,
        "attempt": command.attempt,
        "tenantId": tenant_id,
        "namespace": namespace,
        "flowId": flow_id,
        "taskId": command.task.id,
        "taskType": command.task.type,
        "taskJson": task_json(command.task),
        "variablesJson": to_json(command.variables),
        "deadline": opt_instant(deadline),
        "workingDirectoryJson": command.working_directory,
    }


def worker_task_from_record(record: dict[str, Any]) -> WorkerTask:
    """The WorkerTask of a record (the task rebuilt as its Task subclass). Raises
    pydantic's ValidationError when the task definition is not valid here (an unknown
    type for this worker)."""
    return WorkerTask(
        execution_id=record["executionId"],
        task_run_id=record["taskRunId"],
        attempt=record["attempt"],
        task=Task.model_validate(from_json(record["taskJson"])),
        variables=from_json(record["variablesJson"]),
        namespace=record["namespace"],
        flow_id=record["flowId"],
        tenant_id=record["tenantId"],
        at=record["at"],
        event_id=record["eventId"],
        deadline=record["deadline"],
        working_directory=record.get("workingDirectoryJson"),
    )
