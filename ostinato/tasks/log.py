"""`io.kestra.plugin.core.log.Log`: logs one line per message at `level`."""

from __future__ import annotations

from typing import Any

from ostinato.flow.tasks import Log
from ostinato.tasks.base import RunContext, normalize_level, register_runner, to_kestra_string


def run_log(task: Log, ctx: RunContext) -> dict[str, Any]:
    level = normalize_level(ctx.render_str(task.level) or "INFO")
    messages = task.message if isinstance(task.message, list) else [task.message]
    for message in messages:
        rendered = ctx.render(message)
        ctx.log(level, "" if rendered is None else to_kestra_string(rendered))
    return {}


register_runner(Log, run_log)
