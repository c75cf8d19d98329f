"""`io.kestra.plugin.core.debug.Return` (renders `format` into the `value` output) and the
deprecated `Echo` (logs `format` at `level`)."""

from __future__ import annotations

import time
from typing import Any

from ostinato.flow.tasks import Return
from ostinato.flow.tasks_execution import Echo
from ostinato.tasks.base import RunContext, normalize_level, register_runner, to_kestra_string


def run_return(task: Return, ctx: RunContext) -> dict[str, Any]:
    started = time.perf_counter()
    value = ctx.render_str(task.format)
    if value is not None:
        ctx.log("DEBUG", value)
    ctx.metric("length", len(value or ""), "counter")
    ctx.metric("duration", time.perf_counter() - started, "timer")
    return {"value": value}


register_runner(Return, run_return)


def run_echo(task: Echo, ctx: RunContext) -> dict[str, Any]:
    """Kestra's deprecated Echo: logs the rendered `format` at `level`, no outputs."""
    rendered = ctx.render(task.format)
    ctx.log(normalize_level(task.level), "" if rendered is None else to_kestra_string(rendered))
    return {}


register_runner(Echo, run_echo)
