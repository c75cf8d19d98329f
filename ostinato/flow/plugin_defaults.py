"""`pluginDefaults` / `taskDefaults`: fill the tasks of a raw flow before validation."""

from __future__ import annotations

from typing import Any

from ostinato.flow.task_walk import iter_flow_tasks
from ostinato.flow.yaml_lines import PathT


def _type_matches(default_type: str, task_type: str) -> bool:
    if default_type == task_type:
        return True
    prefix = default_type if default_type.endswith(".") else default_type + "."
    return task_type.startswith(prefix)


def _deep_merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`: maps merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _deep_merge(base[key], value) if key in base else value
        return out
    return over


def apply_plugin_defaults(data: dict[str, Any]) -> set[PathT]:
    """Fill every task of the raw flow `data` from `pluginDefaults` and `taskDefaults`.

    A default applies to a task whose type equals its `type` or starts with it as a
    package prefix. Non-forced values fill what the task does not set (maps deep-merged);
    forced values override the task's. `id` and `type` are never defaulted.
    Returns the paths of the task properties a default set or changed.
    """
    changed: set[PathT] = set()
    defaults = []
    for key in ("pluginDefaults", "taskDefaults"):
        entries = data.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("type"), str)
                and isinstance(entry.get("values"), dict)
            ):
                values = {k: v for k, v in entry["values"].items() if k not in ("id", "type")}
                defaults.append((entry["type"], values, entry.get("forced") is True))
    if not defaults:
        return changed
    for path, task in list(iter_flow_tasks(data)):
        task_type = task.get("type")
        if not isinstance(task_type, str):
            continue
        fill: dict[str, Any] = {}
        forced: dict[str, Any] = {}
        for default_type, values, is_forced in defaults:
            if _type_matches(default_type, task_type):
                if is_forced:
                    forced = _deep_merge(forced, values)
                else:
                    fill = _deep_merge(fill, values)
        if not fill and not forced:
            continue
        own = {k: v for k, v in task.items()}
        merged = _deep_merge(_deep_merge(fill, own), forced)
        merged["id"], merged["type"] = task.get("id"), task_type
        if "id" not in task:
            del merged["id"]
        changed.update((*path, key) for key in merged if task.get(key) is not merged[key])
        task.clear()
        task.update(merged)
    return changed
