"""`io.kestra.plugin.core.templating.TemplatedTask`: `spec` is rendered, read as the YAML of
a runnable task, and that task runs in the same context (its outputs are the task's)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ostinato.flow.registry import UnknownTaskType, resolve_task_type
from ostinato.flow.tasks import Task
from ostinato.flow.tasks_execution import ExecutionUpdatingTask, TemplatedTask
from ostinato.sandbox.yaml_load import load_yaml
from ostinato.tasks.base import RunContext, TaskFailed, register_runner, runner_for


def templated_task(task: TemplatedTask, spec: str) -> Task:
    """The task a rendered `spec` describes (it takes the TemplatedTask's id when it names
    none). Raises TaskFailed, with Kestra's messages, for YAML that is not a runnable task."""
    try:
        data = load_yaml(spec)
    except Exception as error:  # noqa: BLE001 - any YAML error is the spec's fault
        raise TaskFailed(f"Unable to read the templated task spec: {error}") from None
    if not isinstance(data, dict):
        raise TaskFailed("The templated task spec must be a YAML map of task properties")
    try:  # the kind of task is checked first, as Kestra does once the YAML is read
        kind = resolve_task_type(str(data.get("type")))
    except UnknownTaskType as error:
        raise TaskFailed(f"Invalid templated task: {error}") from None
    if issubclass(kind, TemplatedTask):
        raise TaskFailed(
            "The templated task cannot be of type 'io.kestra.plugin.core.templating.TemplatedTask'")
    if kind.flowable or issubclass(kind, ExecutionUpdatingTask) or runner_for(kind) is None:
        raise TaskFailed("The templated task must be a runnable task")
    try:
        return Task.model_validate({"id": task.id, **data})
    except ValidationError as error:
        raise TaskFailed(f"Invalid templated task: {error}") from None


def run_templated(task: TemplatedTask, ctx: RunContext) -> dict[str, Any]:
    """Render `spec`, then run the task it describes with this context."""
    inner = templated_task(task, ctx.render_str(task.spec) or "")
    runner = runner_for(type(inner))
    assert runner is not None
    return runner(inner, ctx)


register_runner(TemplatedTask, run_templated)
