"""`io.kestra.plugin.core.execution.Fail` (fails the task, always or on a condition) and
`Assert` (fails when a condition does not hold)."""

from __future__ import annotations

from typing import Any

from ostinato.flow.tasks import Fail
from ostinato.flow.tasks_execution import Assert
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


def run_assert(task: Assert, ctx: RunContext) -> dict[str, Any]:
    """Every condition is rendered; a falsy one (or one that fails to render) is logged at
    ERROR, and the task fails naming how many failed, then `errorMessage` (Kestra's text).
    Metrics `success` and `failed` count them."""
    from ostinato.expressions import ExpressionError, is_truthy

    failed = 0
    for condition in task.conditions:
        try:
            holds = is_truthy(ctx.render_str(condition) or "")
        except ExpressionError as error:
            ctx.log("ERROR", f"Assertion `{condition}` failed, failed to render `{error}`")
            failed += 1
            continue
        if not holds:
            ctx.log("ERROR", f"Assertion `{condition}` failed!")
            failed += 1
    ctx.metric("success", len(task.conditions) - failed, "counter")
    ctx.metric("failed", failed, "counter")
    if failed:
        message = f"{failed} assertion{'s' if failed > 1 else ''} failed!"
        extra = ctx.render_str(task.error_message) if task.error_message is not None else None
        raise TaskFailed(message + (f"\n{extra}" if extra else ""))
    return {}


register_runner(Assert, run_assert)

# TemplatedTask's runner lives beside; importing it registers it.
from ostinato.tasks import templating as _templating  # noqa: E402,F401
