"""Read a flow's YAML: every problem at once, each with its path and line.

`parse_flow` loads YAML safely while keeping the line of every key and list item, applies
`pluginDefaults` / `taskDefaults` to every task, validates the models, then checks what the
models cannot see alone (duplicate ids, Dag dependencies, ...). Nothing is ever rendered.

Each step has its module: `yaml_lines` (loading), `plugin_defaults`, `errors` (FlowError,
pydantic's errors in words), `checks` (semantic checks), `task_walk` (the tasks of a raw
flow); the names others use are re-exported here.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from ostinato.flow.checks import semantic_errors
from ostinato.flow.errors import (
    FlowError,
    FlowValidationError,
    kind_of,
    pydantic_errors,
    render_path,
    yaml_error,
)
from ostinato.flow.model import Flow
from ostinato.flow.plugin_defaults import apply_plugin_defaults
from ostinato.flow.registry import UnknownTaskType
from ostinato.flow.task_walk import iter_flow_tasks, iter_tasks_in
from ostinato.flow.yaml_lines import PathT, load_yaml_with_lines

MAX_FLOW_BYTES = 1_048_576


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


def validate_flow_with_warnings(source: str) -> tuple[list[FlowError], list[FlowError]]:
    """(errors, warnings) of the flow in `source`. Warnings never make a flow invalid: they
    say what will go wrong on this machine (a task's `validation_warnings()`, e.g. a Docker
    task runner without a container engine). A flow with errors has no warnings."""
    flow, errors = _parse(source, MAX_FLOW_BYTES)
    if errors or flow is None:
        return errors, []
    return [], flow_warnings(flow, source)


def flow_warnings(flow: Flow, source: str) -> list[FlowError]:
    """The warnings of the tasks of a valid `flow`, each at its task's path and line."""
    found = [(task.id, message) for task in flow.all_tasks()
             for message in _task_warnings(task)]
    if not found:
        return []
    data, lines = load_yaml_with_lines(source)
    paths = {raw.get("id"): path for path, raw in iter_flow_tasks(data) if isinstance(raw, dict)}
    out = []
    for task_id, message in found:
        path = paths.get(task_id, ())
        out.append(FlowError(render_path(path), lines.get(path), message))
    return out


def _task_warnings(task: object) -> list[str]:
    warnings = getattr(task, "validation_warnings", None)
    return [str(w) for w in warnings()] if callable(warnings) else []


def _too_big(size: int, cap: int) -> FlowError:
    """The error of a flow over the size limit."""
    return FlowError("", None, f"the flow is {size} bytes, more than the limit of {cap} bytes")


def _parse(source: str, max_bytes: int) -> tuple[Flow | None, list[FlowError]]:
    """(the flow or None, every problem sorted by line): load, default, validate, check."""
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        return None, [_too_big(size, max_bytes)]
    try:
        data, lines = load_yaml_with_lines(source)
    except yaml.YAMLError as exc:
        return None, [yaml_error(exc)]
    except RecursionError:
        return None, [FlowError("", None, "invalid YAML: the document is nested too deeply")]
    if not isinstance(data, dict):
        kind = kind_of(data)
        got = "nothing" if data is None else ("an " if kind[0] in "aeiou" else "a ") + kind
        return None, [FlowError("", lines.get((), 1), f"a flow must be a YAML mapping, got {got}")]

    defaulted = apply_plugin_defaults(data)
    errors: list[FlowError] = []
    flow: Flow | None = None
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc, data, lines, defaulted))
    except (UnknownTaskType, TypeError, ValueError) as exc:  # a validator that escaped
        errors.append(FlowError("", None, f"could not validate the flow: {exc}"))
    except RecursionError:
        errors.append(FlowError("", None, "the flow is nested too deeply to validate"))
    errors.extend(semantic_errors(data, lines))

    unique = list(dict.fromkeys(errors))
    unique.sort(key=lambda e: (e.line if e.line is not None else 1 << 30, e.path))
    return (None if unique else flow), unique


__all__ = [
    "MAX_FLOW_BYTES", "FlowError", "FlowValidationError", "parse_flow", "parse_flow_file",
    "validate_flow", "validate_flow_with_warnings", "flow_warnings", "load_yaml_with_lines", "apply_plugin_defaults", "iter_flow_tasks",
    "iter_tasks_in", "render_path", "PathT",
]
