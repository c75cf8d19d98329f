"""A flow's problems as `FlowError`s: where (path and line) and what, in words.

pydantic's validation errors are mapped back onto the YAML (the path in the data, the
line of the nearest key), union errors merged into one message per place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from ostinato.flow.inputs import INPUT_ID_PATTERN
from ostinato.flow.model import NAMESPACE_PATTERN
from ostinato.flow.tasks import ID_PATTERN
from ostinato.flow.yaml_lines import PathT, key_text


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


def yaml_error(exc: yaml.YAMLError) -> FlowError:
    """The FlowError of YAML that does not load, at its line when the error has one."""
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


def line_at(lines: dict[PathT, int], path: PathT) -> int | None:
    """The line of `path`, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def kind_of(value: Any) -> str:
    """The YAML kind of a loaded value, in words (`map`, `list`, `integer`, ...)."""
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
                key = next((k for k in current if key_text(k) == str(part)), None)
            if key is not None or (part is None and None in current):
                path.append(key_text(key))
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


def pydantic_errors(
    exc: ValidationError,
    data: Any,
    lines: dict[PathT, int],
    defaulted: AbstractSet[PathT] = frozenset(),
) -> list[FlowError]:
    """One FlowError per pydantic error, at the YAML path and line it concerns; `defaulted`
    (paths a plugin default set) marks the errors a default caused."""
    out: list[FlowError] = []
    unions: dict[PathT, list[tuple[Any, Any]]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        path, rest, value, parent = _navigate(data, loc)
        kind = err["type"]
        if kind in _TYPE_ERRORS:
            out.append(FlowError(render_path((*path, "type")), line_at(lines, (*path, "type")),
                                 str(err["msg"]) + _plugin_hint(kind)))
            continue
        if kind == "invalid_key":
            key = err.get("input")
            out.append(FlowError(render_path((*path, key_text(key))), line_at(lines, path),
                                 f"a property name must be a string, got `{_show(key)}`"))
            continue
        if kind == "missing" and len(rest) == 1:
            name = _yaml_name(rest[0])
            out.append(FlowError(render_path((*path, name)), line_at(lines, path),
                                 f"missing required property `{name}`"))
            continue
        if rest and kind == "input_constraint":  # a property that is not set, named by loc
            full = (*path, *(_yaml_name(part) for part in rest))
            out.append(FlowError(render_path(full), line_at(lines, path), str(err["msg"])))
            continue
        if rest:  # the rest of the loc names union members: merge them into one message
            unions.setdefault(path, []).append((rest[0], value))
            continue
        message = _message(err, value, parent, path)
        if any(path[: len(d)] == d for d in defaulted):
            message += " (set by pluginDefaults)"
        out.append(FlowError(render_path(path), line_at(lines, path), message))
    for path, members in unions.items():
        names = list(dict.fromkeys(_describe_tag(tag) for tag, _ in members))
        value = members[0][1]
        expected = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        out.append(FlowError(render_path(path), line_at(lines, path),
                             f"expected {expected}, got `{_show(value)}`"))
    return out


def _plugin_hint(kind: str) -> str:
    """For an unknown task type: the plugins that failed to load (one may be why)."""
    if kind != "unknown_task_type":
        return ""
    from ostinato.plugins import unknown_type_hint

    return unknown_type_hint()


def _yaml_name(part: Any) -> str | int:
    """A Python field name back to its YAML name (`finally_` -> `finally`)."""
    if isinstance(part, str) and "_" in part:
        return to_camel(part.rstrip("_")) if part.rstrip("_") else part
    return part if isinstance(part, (str, int)) else str(part)
