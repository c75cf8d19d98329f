"""`io.kestra.plugin.core.execution.Fail`: fails the task, always or on a condition."""

from __future__ import annotations

from typing import Any

from ostinato.flow.tasks import Fail
from ostinato.tasks.base import RunContext, TaskFailed, register_runner


def run_fail(task: Fail, ctx: RunContext) -> dict[str, Any]:
    if task.condition is not None:
        from ostinato.expressions import is_truthy

        if isinstance(task.condition, bool):
            failing = task.condition
        else:
            failing = is_truthy(ctx.render_str(task.condition))
        if not failing:
            return {}
    message = ctx.render_str(task.error_message) or "Task failure"
    # run_task logs the message at ERROR, as Kestra's errorLogs() shows it.
    raise TaskFailed(message)


register_runner(Fail, run_fail)
