"""`io.kestra.plugin.core.debug.Return`: renders `format` into the `value` output."""

from __future__ import annotations

import time
from typing import Any

from ostinato.flow.tasks import Return
from ostinato.tasks.base import RunContext, register_runner


def run_return(task: Return, ctx: RunContext) -> dict[str, Any]:
    started = time.perf_counter()
    value = ctx.render_str(task.format)
    if value is not None:
        ctx.log("DEBUG", value)
    ctx.metric("length", len(value or ""), "counter")
    ctx.metric("duration", time.perf_counter() - started, "timer")
    return {"value": value}


register_runner(Return, run_return)
