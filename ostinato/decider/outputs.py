"""Rendering of flow outputs (at the end of an execution) and of a Subflow's outputs."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ostinato.expressions import render_value
from ostinato.flow.model import Output
from ostinato.flow.tasks import Subflow


def _as_type(output: Output, value: Any) -> Any:
    """Coerce a rendered value to the output's declared type, as Kestra does."""
    kind = output.type
    if kind in ("STRING", "URI", "EMAIL", "SECRET", "FILE", "DATETIME", "DATE", "TIME", "DURATION", "ENUM", "SELECT"):
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return value if isinstance(value, str) or value is None else str(value)
    if kind == "INT":
        return int(value)
    if kind == "FLOAT":
        return float(value)
    if kind in ("BOOLEAN", "BOOL"):
        return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    if kind in ("JSON", "ARRAY", "MULTISELECT") and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return [value] if kind != "JSON" else value
    return value


def render_flow_outputs(outputs: list[Output], context: Mapping[str, Any]) -> dict[str, Any]:
    """Every flow output rendered and typed; raises ExpressionError or ValueError."""
    result: dict[str, Any] = {}
    for output in outputs:
        value = output.value
        # Kestra renders a lone expression to its typed value (a map stays a map).
        if isinstance(value, str):
            value = render_typed(value, context)
        else:
            value = render_value(value, context)
        result[output.id] = _as_type(output, value)
    return result


def render_typed(template: str, context: Mapping[str, Any]) -> Any:
    """Render a template; a string that is the JSON of a map or list comes back parsed."""
    text = render_value(template, context)
    if isinstance(text, str) and text[:1] in "{[":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def subflow_outputs(task: Subflow, context: Mapping[str, Any]) -> dict[str, Any]:
    """A Subflow task's `outputs`, rendered against its child's task outputs."""
    return dict(render_value(task.outputs, context))
