"""Walk the tasks of a raw (unvalidated) flow: every task dict, nested ones included,
with its path. A task's children are found through its class's `child_fields` when its
type is known, through the generic keys otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic.alias_generators import to_camel

from ostinato.flow.registry import UnknownTaskType, resolve_task_type
from ostinato.flow.tasks import Task
from ostinato.flow.yaml_lines import PathT, key_text

_GENERIC_CHILD_KEYS = ("tasks", "errors", "finally", "then", "else", "cases", "defaults")


def task_class(data: dict[str, Any]) -> type[Task] | None:
    """The Task class of a raw task's `type`; None when it has none or it is unknown."""
    type_ = data.get("type")
    if not isinstance(type_, str):
        return None
    try:
        return resolve_task_type(type_)
    except UnknownTaskType:
        return None


def _child_keys(task: dict[str, Any]) -> list[str]:
    cls = task_class(task)
    if cls is None:
        return [k for k in _GENERIC_CHILD_KEYS if k in task]
    out = []
    for name in cls.child_fields:
        field = cls.model_fields.get(name)
        out.append(field.alias if field is not None and field.alias else to_camel(name))
    return out


def _looks_like_tasks(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and ("type" in item or "task" in item or "id" in item)
        for item in value
    )


def _iter_task_list(items: Any, path: PathT) -> Iterator[tuple[PathT, dict[str, Any]]]:
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if "task" in item and "type" not in item and isinstance(item["task"], dict):
            yield from iter_tasks_in(item["task"], (*path, index, "task"))
        else:
            yield from iter_tasks_in(item, (*path, index))


def iter_tasks_in(task: dict[str, Any], path: PathT) -> Iterator[tuple[PathT, dict[str, Any]]]:
    """`task` and every task nested in it, depth first, with their paths."""
    yield path, task
    known = task_class(task) is not None
    for key in _child_keys(task):
        value = task.get(key)
        if isinstance(value, dict) and key == "cases":
            for case, tasks in value.items():
                yield from _iter_task_list(tasks, (*path, key, key_text(case)))
        elif known or _looks_like_tasks(value):
            yield from _iter_task_list(value, (*path, key))


def iter_flow_tasks(data: dict[str, Any]) -> Iterator[tuple[PathT, dict[str, Any]]]:
    """Every task dict of a raw flow (tasks, errors, finally, afterExecution, nested)."""
    for key in ("tasks", "errors", "finally", "afterExecution"):
        yield from _iter_task_list(data.get(key), (key,))
