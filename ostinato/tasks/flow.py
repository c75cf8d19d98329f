"""`io.kestra.plugin.core.flow.Sleep`: waits `duration` through the context's `sleep`."""

from __future__ import annotations

from typing import Any

from ostinato.flow.durations import parse_duration
from ostinato.flow.tasks import Sleep
from ostinato.tasks.base import RunContext, TaskFailed, register_runner


def run_sleep(task: Sleep, ctx: RunContext) -> dict[str, Any]:
    rendered = ctx.render_str(task.duration) or ""
    seconds = parse_duration(rendered).total_seconds()
    if seconds < 0:
        raise TaskFailed(f"Sleep duration `{rendered}` is negative")
    ctx.sleep(seconds)
    return {}


register_runner(Sleep, run_sleep)
