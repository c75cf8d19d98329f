"""Read a flow's YAML: every problem at once, each with its path and line.

`parse_flow` loads YAML safely while keeping the line of every key and list item, applies
`pluginDefaults` / `taskDefaults` to every task, validates the models, then checks what the
models cannot see alone (duplicate ids, Dag dependencies, ...). Nothing is ever rendered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from ostinato.flow.inputs import INPUT_ID_PATTERN
from ostinato.flow.model import NAMESPACE_PATTERN, Flow
from ostinato.flow.registry import UnknownTaskType, resolve_task_type
from ostinato.flow.tasks import ID_PATTERN, Dag, Task

MAX_FLOW_BYTES = 1_048_576

PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class FlowError:
    """One problem in a flow: where (`tasks[2].then[0].format`, line) and what."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where = f"{where}, line {self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class FlowValidationError(ValueError):
    """A flow that cannot be used; `errors` lists every problem found."""

    def __init__(self, errors: list[FlowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


# ----------------------------------------------------------------- public API

def parse_flow(source: str, *, max_bytes: int = MAX_FLOW_BYTES) -> Flow:
    """The Flow described by `source`, or FlowValidationError with every problem."""
    flow, errors = _parse(source, max_bytes)
    if errors or flow is None:
        raise FlowValidationError(errors)
    return flow


def parse_flow_file(path: str | Path) -> Flow:
    """`parse_flow` on a file's content (UTF-8)."""
    raw = Path(path).read_bytes()
    if len(raw) > MAX_FLOW_BYTES:
        raise FlowValidationError([_too_big(len(raw), MAX_FLOW_BYTES)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowValidationError([FlowError("", None, f"the flow is not UTF-8 text: {exc}")])
    return parse_flow(text)


def validate_flow(source: str) -> list[FlowError]:
    """Every problem of the flow in `source`; [] when it is valid."""
    return _parse(source, MAX_FLOW_BYTES)[1]


# ----------------------------------------------------------------- loading

def _too_big(size: int, cap: int) -> FlowError:
    return FlowError("", None, f"the flow is {size} bytes, more than the limit of {cap} bytes")


def _parse(source: str, max_bytes: int) -> tuple[Flow | None, list[FlowError]]:
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return None, [_too_big(size, max_bytes)]
    try:
        data, lines = load_yaml_with_lines(source)
    except yaml.YAMLError as exc:
        return None, [_yaml_error(exc)]
    except RecursionError:
        return None, [FlowError("", None, "invalid YAML: the document is nested too deeply")]
    if not isinstance(data, dict):
        kind = _kind(data)
        got = "nothing" if data is None else ("an " if kind[0] in "aeiou" else "a ") + kind
        return None, [FlowError("", lines.get((), 1), f"a flow must be a YAML mapping, got {got}")]

    defaulted = apply_plugin_defaults(data)
    errors: list[FlowError] = []
    flow: Flow | None = None
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        errors.extend(_pydantic_errors(exc, data, lines, defaulted))
    except (UnknownTaskType, TypeError, ValueError) as exc:  # a validator that escaped
        errors.append(FlowError("", None, f"could not validate the flow: {exc}"))
    except RecursionError:
        errors.append(FlowError("", None, "the flow is nested too deeply to validate"))
    errors.extend(_semantic_errors(data, lines))

    unique = list(dict.fromkeys(errors))
    unique.sort(key=lambda e: (e.line if e.line is not None else 1 << 30, e.path))
    return (None if unique else flow), unique


def _yaml_error(exc: yaml.YAMLError) -> FlowError:
    line: int | None = None
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line = mark.line + 1
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "invalid YAML: " + ", ".join(parts) if parts else f"invalid YAML: {exc}"
    else:
        message = f"invalid YAML: {exc}"
    return FlowError("", line, message)


def load_yaml_with_lines(source: str) -> tuple[Any, dict[PathT, int]]:
    """Load YAML with safe_load semantics, plus the 1-based line of every key / list item.

    The map is keyed by path tuples (`("tasks", 0, "then", 1, "format")`) of the loaded data.
    """
    loader = yaml.SafeLoader(source)
    try:
        node = loader.get_single_node()
        lines: dict[PathT, int] = {}
        if node is not None:
            lines[()] = node.start_mark.line + 1
            walk = _NodeWalk(lines)
            walk.visit(node, ())
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, lines


#: like SnakeYAML's maxAliasesForCollections: bounds "billion laughs" documents
MAX_COLLECTION_ALIASES = 50


class _NodeWalk:
    """Walks the composed YAML tree once, recording lines and refusing alias bombs."""

    def __init__(self, lines: dict[PathT, int]) -> None:
        self.lines = lines
        self.keys = yaml.SafeLoader("")
        self.seen: set[int] = set()
        self.stack: set[int] = set()
        self.aliases = 0

    def visit(self, node: yaml.Node, path: PathT) -> None:
        if not isinstance(node, yaml.CollectionNode):
            return
        if id(node) in self.stack:
            raise yaml.MarkedYAMLError(
                problem="a YAML alias refers to a collection that contains it",
                problem_mark=node.start_mark,
            )
        if id(node) in self.seen:  # an alias: its content was walked where it was anchored
            self.aliases += 1
            if self.aliases > MAX_COLLECTION_ALIASES:
                raise yaml.MarkedYAMLError(
                    problem=f"more than {MAX_COLLECTION_ALIASES} aliases to collections",
                    problem_mark=node.start_mark,
                )
            return
        self.seen.add(id(node))
        self.stack.add(id(node))
        try:
            self._children(node, path)
        finally:
            self.stack.discard(id(node))

    def _children(self, node: yaml.Node, path: PathT) -> None:
        lines, keys = self.lines, self.keys
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if (
                    not isinstance(key_node, yaml.ScalarNode)
                    or key_node.tag == "tag:yaml.org,2002:merge"
                ):
                    continue
                try:
                    key = keys.construct_object(key_node, deep=True)
                except yaml.YAMLError:
                    continue
                child = (*path, _key_text(key))
                lines[child] = key_node.start_mark.line + 1
                self.visit(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                lines[child] = item.start_mark.line + 1
                self.visit(item, child)


def _key_text(key: Any) -> str:
    """A mapping key as it appears in paths (always a string; YAML booleans lower-case)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return key if isinstance(key, str) else str(key)


# ----------------------------------------------------------------- walking tasks

_GENERIC_CHILD_KEYS = ("tasks", "errors", "finally", "then", "else", "cases", "defaults")


def _task_class(data: dict[str, Any]) -> type[Task] | None:
    type_ = data.get("type")
    if not isinstance(type_, str):
        return None
    try:
        return resolve_task_type(type_)
    except UnknownTaskType:
        return None


def _child_keys(task: dict[str, Any]) -> list[str]:
    cls = _task_class(task)
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
    known = _task_class(task) is not None
    for key in _child_keys(task):
        value = task.get(key)
        if isinstance(value, dict) and key == "cases":
            for case, tasks in value.items():
                yield from _iter_task_list(tasks, (*path, key, _key_text(case)))
        elif known or _looks_like_tasks(value):
            yield from _iter_task_list(value, (*path, key))


def iter_flow_tasks(data: dict[str, Any]) -> Iterator[tuple[PathT, dict[str, Any]]]:
    """Every task dict of a raw flow (tasks, errors, finally, afterExecution, nested)."""
    for key in ("tasks", "errors", "finally", "afterExecution"):
        yield from _iter_task_list(data.get(key), (key,))


# ----------------------------------------------------------------- plugin defaults

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


# ----------------------------------------------------------------- pydantic errors

def render_path(path: PathT) -> str:
    """`("tasks", 2, "then", 0, "format")` -> `tasks[2].then[0].format`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            if re.fullmatch(r"[A-Za-z0-9_$@-]+", text):
                out += f".{text}" if out else text
            else:
                out += f"[{json.dumps(text)}]"
    return out


def _line(lines: dict[PathT, int], path: PathT) -> int | None:
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    if isinstance(value, str):
        text = value
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif not isinstance(value, (dict, list, tuple)):
        text = str(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _navigate(data: Any, loc: tuple[Any, ...]) -> tuple[PathT, tuple[Any, ...], Any, Any]:
    """Split a pydantic loc into the part found in the data and the rest.

    Returns (path in the data, remaining loc, value at path, parent of value).
    """
    path: list[str | int] = []
    current: Any = data
    parent: Any = None
    for index, part in enumerate(loc):
        if isinstance(current, dict):
            key: Any = None
            if isinstance(part, str) and part in current:
                key = part
            else:
                key = next((k for k in current if _key_text(k) == str(part)), None)
            if key is not None or (part is None and None in current):
                path.append(_key_text(key))
                parent, current = current, current[key]
                continue
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            parent, current = current, current[part]
            continue
        return tuple(path), tuple(loc[index:]), current, parent
    return tuple(path), (), current, parent


_TYPE_ERRORS = frozenset(
    {f"unknown_{w}_type" for w in ("task", "trigger", "condition")}
    | {f"missing_{w}_type" for w in ("task", "trigger", "condition")}
    | {f"{w}_type_not_string" for w in ("task", "trigger", "condition")}
)

_TAG_NAMES = {
    "str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
    "none": "null", "constrained-str": "a string", "constrained-int": "an integer",
    "bytes": "a string",
}


def _describe_tag(tag: Any) -> str:
    text = str(tag)
    if text in _TAG_NAMES:
        return _TAG_NAMES[text]
    if text.startswith(("list[", "tuple[", "set[")):
        return "a list"
    if text.startswith("dict["):
        return "a map"
    if text.startswith("literal["):
        return "one of " + text[len("literal["):-1]
    match = re.match(r"function-\w+\[.*?,\s*(.+)\]$", text)
    if match:
        return _describe_tag(match.group(1))
    if text[:1].isupper():
        return "a map"
    return text


_SIMPLE_MESSAGES = {
    "int_parsing": "expected an integer", "int_type": "expected an integer",
    "int_from_float": "expected an integer", "float_parsing": "expected a number",
    "float_type": "expected a number", "bool_parsing": "expected a boolean (true or false)",
    "bool_type": "expected a boolean (true or false)", "string_type": "expected a string",
    "list_type": "expected a list", "dict_type": "expected a map", "model_type": "expected a map",
    "model_attributes_type": "expected a map", "none_required": "expected null",
}

_PATTERN_MESSAGES = {
    ID_PATTERN: "invalid id `{v}`: an id must start with a letter or a digit and contain only "
    "letters, digits, `-` and `_`",
    NAMESPACE_PATTERN: "invalid namespace `{v}`: a namespace must start with a lower-case letter "
    "or a digit and contain only lower-case letters, digits, `.`, `-` and `_`",
    INPUT_ID_PATTERN: "invalid input id `{v}`: it must start with a letter or a digit and contain "
    "only letters, digits, `.`, `-` and `_`",
    r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$": "invalid output id `{v}`: it must start with a letter or a "
    "digit and contain only letters, digits, `.`, `-` and `_`",
}


def _message(err: Any, value: Any, parent: Any, path: PathT) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return f"missing required property `{path[-1] if path else '?'}`"
    if kind == "extra_forbidden":
        owner = ""
        if isinstance(parent, dict) and "id" in parent and isinstance(parent.get("type"), str):
            owner = f" for type `{parent['type']}`"
        return f"unknown property `{path[-1] if path else '?'}`{owner}"
    if kind in _SIMPLE_MESSAGES:
        return f"{_SIMPLE_MESSAGES[kind]}, got `{_show(value)}`"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '?')}, got `{_show(value)}`"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        template = _PATTERN_MESSAGES.get(pattern)
        if template:
            return template.format(v=_show(value))
        return f"`{_show(value)}` does not match the pattern `{pattern}`"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters long"
    if kind == "too_short":
        count = ctx.get("min_length")
        name = path[-1] if path else "?"
        return f"`{name}` must have at least {count} item{'s' if count != 1 else ''}"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
                 "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}[kind]
        return f"must be {words[0]} {ctx.get(words[1])}, got `{_show(value)}`"
    message = str(err.get("msg", kind))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def _pydantic_errors(
    exc: ValidationError,
    data: Any,
    lines: dict[PathT, int],
    defaulted: AbstractSet[PathT] = frozenset(),
) -> list[FlowError]:
    out: list[FlowError] = []
    unions: dict[PathT, list[tuple[Any, Any]]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        path, rest, value, parent = _navigate(data, loc)
        kind = err["type"]
        if kind in _TYPE_ERRORS:
            out.append(FlowError(render_path((*path, "type")), _line(lines, (*path, "type")),
                                 str(err["msg"])))
            continue
        if kind == "invalid_key":
            key = err.get("input")
            out.append(FlowError(render_path((*path, _key_text(key))), _line(lines, path),
                                 f"a property name must be a string, got `{_show(key)}`"))
            continue
        if kind == "missing" and len(rest) == 1:
            name = _yaml_name(rest[0])
            out.append(FlowError(render_path((*path, name)), _line(lines, path),
                                 f"missing required property `{name}`"))
            continue
        if rest and kind == "input_constraint":  # a property that is not set, named by loc
            full = (*path, *(_yaml_name(part) for part in rest))
            out.append(FlowError(render_path(full), _line(lines, path), str(err["msg"])))
            continue
        if rest:  # the rest of the loc names union members: merge them into one message
            unions.setdefault(path, []).append((rest[0], value))
            continue
        message = _message(err, value, parent, path)
        if any(path[: len(d)] == d for d in defaulted):
            message += " (set by pluginDefaults)"
        out.append(FlowError(render_path(path), _line(lines, path), message))
    for path, members in unions.items():
        names = list(dict.fromkeys(_describe_tag(tag) for tag, _ in members))
        value = members[0][1]
        expected = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        out.append(FlowError(render_path(path), _line(lines, path),
                             f"expected {expected}, got `{_show(value)}`"))
    return out


def _yaml_name(part: Any) -> str | int:
    """A Python field name back to its YAML name (`finally_` -> `finally`)."""
    if isinstance(part, str) and "_" in part:
        return to_camel(part.rstrip("_")) if part.rstrip("_") else part
    return part if isinstance(part, (str, int)) else str(part)


# ----------------------------------------------------------------- semantic checks

def _semantic_errors(data: dict[str, Any], lines: dict[PathT, int]) -> list[FlowError]:
    out: list[FlowError] = []
    out.extend(_duplicate_task_ids(data, lines))
    out.extend(_dag_errors(data, lines))
    out.extend(_duplicate_ids(data, lines, "triggers", "trigger"))
    out.extend(_duplicate_ids(data, lines, "inputs", "input", also="name"))
    out.extend(_duplicate_ids(data, lines, "outputs", "output"))
    return out


def _duplicate_task_ids(data: dict[str, Any], lines: dict[PathT, int]) -> list[FlowError]:
    out: list[FlowError] = []
    first: dict[str, PathT] = {}
    for path, task in iter_flow_tasks(data):
        task_id = task.get("id")
        if not isinstance(task_id, str):
            continue
        if task_id in first:
            out.append(FlowError(
                render_path((*path, "id")), _line(lines, (*path, "id")),
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
                render_path((*path, field)), _line(lines, (*path, field)),
                f"duplicate {what} id `{item_id}`, first used at {render_path(first[item_id])}",
            ))
        else:
            first[item_id] = path
    return out


def _dag_errors(data: dict[str, Any], lines: dict[PathT, int]) -> list[FlowError]:
    out: list[FlowError] = []
    for path, task in list(iter_flow_tasks(data)):
        if _task_class(task) is not Dag:
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
                        render_path(dep_path), _line(lines, dep_path),
                        f"`dependsOn` names `{dep}`, which is not a task of this Dag "
                        f"(known: {', '.join(ids) or 'none'})",
                    ))
                elif isinstance(node_id, str) and node_id in graph:
                    graph[node_id].append(dep)
        for cycle in _cycles(graph):
            where = (*path, "tasks", ids[cycle[0]], "dependsOn")
            out.append(FlowError(
                render_path(where), _line(lines, where),
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


__all__ = [
    "MAX_FLOW_BYTES", "FlowError", "FlowValidationError", "parse_flow", "parse_flow_file",
    "validate_flow", "load_yaml_with_lines", "apply_plugin_defaults", "iter_flow_tasks",
    "render_path",
]
