"""What the models cannot see alone: duplicate ids (tasks, triggers, inputs, outputs)
and Dag dependencies (unknown names, cycles), checked on the raw flow."""

from __future__ import annotations

import os
from typing import Any

from ostinato.flow.errors import FlowError, line_at, render_path
from ostinato.flow.task_walk import iter_flow_tasks, task_class
from ostinato.flow.tasks import Dag
from ostinato.flow.yaml_lines import PathT

#: the setting, and its default, of the most tasks a flow may declare
MAX_TASKS_SETTING = "OSTINATO_MAX_TASKS_PER_FLOW"
DEFAULT_MAX_TASKS_PER_FLOW = 1_000


def semantic_errors(data: dict[str, Any], lines: dict[PathT, int]) -> list[FlowError]:
    """Every problem the models cannot see alone: duplicate ids and Dag dependencies."""
    out: list[FlowError] = []
    out.extend(_too_many_tasks(data, lines, max_tasks_per_flow()))
    out.extend(_duplicate_task_ids(data, lines))
    out.extend(_dag_errors(data, lines))
    out.extend(_duplicate_ids(data, lines, "triggers", "trigger"))
    out.extend(_duplicate_ids(data, lines, "inputs", "input", also="name"))
    out.extend(_duplicate_ids(data, lines, "outputs", "output"))
    return out


def max_tasks_per_flow() -> int:
    """The most tasks a flow may declare (OSTINATO_MAX_TASKS_PER_FLOW, default 1,000),
    nested ones included: read from the environment of the service that parses flows."""
    text = os.environ.get(MAX_TASKS_SETTING, "").strip()
    try:
        return max(int(text), 1) if text else DEFAULT_MAX_TASKS_PER_FLOW
    except ValueError:
        return DEFAULT_MAX_TASKS_PER_FLOW


def _too_many_tasks(data: dict[str, Any], lines: dict[PathT, int], limit: int) -> list[FlowError]:
    """One error, at the first task past `limit`, when the flow declares more tasks."""
    for count, (path, _task) in enumerate(iter_flow_tasks(data), start=1):
        if count > limit:
            total = sum(1 for _ in iter_flow_tasks(data))
            return [FlowError(render_path(path), line_at(lines, path),
                              f"the flow declares {total} tasks, over the limit of {limit} tasks "
                              f"per flow ({MAX_TASKS_SETTING}); split it into subflows")]
    return []


def _duplicate_task_ids(data: dict[str, Any], lines: dict[PathT, int]) -> list[FlowError]:
    out: list[FlowError] = []
    first: dict[str, PathT] = {}
    for path, task in iter_flow_tasks(data):
        task_id = task.get("id")
        if not isinstance(task_id, str):
            continue
        if task_id in first:
            out.append(FlowError(
                render_path((*path, "id")), line_at(lines, (*path, "id")),
                f"duplicate task id `{task_id}`, first used at {render_path(first[task_id])}",
            ))
        else:
            first[task_id] = path
    return out


def _duplicate_ids(
    data: dict[str, Any], lines: dict[PathT, int], key: str, what: str, also: str | None = None
) -> list[FlowError]:
    out: list[FlowError] = []
    items = data.get(key)
    if not isinstance(items, list):
        return out
    first: dict[str, PathT] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        field = "id" if "id" in item or also is None or also not in item else also
        item_id = item.get(field)
        if not isinstance(item_id, str):
            continue
        path: PathT = (key, index)
        if item_id in first:
            out.append(FlowError(
                render_path((*path, field)), line_at(lines, (*path, field)),
                f"duplicate {what} id `{item_id}`, first used at {render_path(first[item_id])}",
            ))
        else:
            first[item_id] = path
    return out


def _dag_errors(data: dict[str, Any], lines: dict[PathT, int]) -> list[FlowError]:
    out: list[FlowError] = []
    for path, task in list(iter_flow_tasks(data)):
        if task_class(task) is not Dag:
            continue
        nodes = task.get("tasks")
        if not isinstance(nodes, list):
            continue
        ids: dict[str, int] = {}
        for index, node in enumerate(nodes):
            if isinstance(node, dict) and isinstance(node.get("task"), dict):
                node_id = node["task"].get("id")
                if isinstance(node_id, str):
                    ids.setdefault(node_id, index)
        graph: dict[str, list[str]] = {node_id: [] for node_id in ids}
        for index, node in enumerate(nodes):
            if not isinstance(node, dict) or not isinstance(node.get("task"), dict):
                continue
            node_id = node["task"].get("id")
            deps = node.get("dependsOn")
            if not isinstance(deps, list):
                continue
            for dep_index, dep in enumerate(deps):
                dep_path = (*path, "tasks", index, "dependsOn", dep_index)
                if not isinstance(dep, str):
                    continue
                if dep not in ids:
                    out.append(FlowError(
                        render_path(dep_path), line_at(lines, dep_path),
                        f"`dependsOn` names `{dep}`, which is not a task of this Dag "
                        f"(known: {', '.join(ids) or 'none'})",
                    ))
                elif isinstance(node_id, str) and node_id in graph:
                    graph[node_id].append(dep)
        for cycle in _cycles(graph):
            where = (*path, "tasks", ids[cycle[0]], "dependsOn")
            out.append(FlowError(
                render_path(where), line_at(lines, where),
                "dependency cycle: " + " -> ".join(cycle + [cycle[0]]),
            ))
    return out


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of nodes that loops, in declaration order."""
    white, grey, black = 0, 1, 2
    color = {node: white for node in graph}
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str, stack: list[str]) -> None:
        color[node] = grey
        stack.append(node)
        for dep in graph.get(node, []):
            if color.get(dep) == grey:
                cycle = stack[stack.index(dep):]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
            elif color.get(dep) == white:
                visit(dep, stack)
        stack.pop()
        color[node] = black

    for node in graph:
        if color[node] == white:
            visit(node, [])
    return found
