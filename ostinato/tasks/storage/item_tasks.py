"""Runners of `storage.DeduplicateItems` and `storage.FilterItems`: one pass (two for
deduplication) over an items file, an expression rendered per item with the item's fields
as variables (as Kestra's `runContext.render(expr, item)`), the kept lines written as read."""

from __future__ import annotations

from typing import Any

from ostinato.expressions import ExpressionError, is_truthy, render_value
from ostinato.flow.tasks_storage import DeduplicateItems, FilterItems
from ostinato.tasks.base import RunContext, TaskFailed, register_runner, to_kestra_string
from ostinato.tasks.storage.files import read_file, store_new_file
from ostinato.tasks.storage.items import ItemsError, parse_item


def _lines(ctx: RunContext, source: str) -> list[str]:
    text = read_file(ctx, source).decode("utf-8")
    return [line for line in text.splitlines() if line.strip()]


def _render_for(ctx: RunContext, expression: str, item: Any) -> Any:
    extra = item if isinstance(item, dict) else {}
    return render_value(expression, {**ctx.render_context(), **extra})


def _item(line: str, number: int) -> Any:
    try:
        return parse_item(line.strip())
    except ItemsError as error:
        raise TaskFailed(f"line {number} of the items file: {error}") from None


def run_deduplicate(task: DeduplicateItems, ctx: RunContext) -> dict[str, Any]:
    """Keep the last item of each key (in the file's order of those last items)."""
    lines = _lines(ctx, ctx.render_str(task.from_) or "")
    keys = [to_kestra_string(_render_for(ctx, task.expr, _item(line, n)))
            for n, line in enumerate(lines, start=1)]
    last = {key: index for index, key in enumerate(keys)}
    kept = [line for index, line in enumerate(lines) if last[keys[index]] == index]
    uri = store_new_file(ctx, task.id, "".join(line + "\n" for line in kept).encode("utf-8"), ".ion")
    return {"uri": uri, "numKeys": len(last), "processedItemsTotal": len(lines),
            "droppedItemsTotal": len(lines) - len(kept)}


def _matches(task: FilterItems, ctx: RunContext, item: Any) -> bool | None:
    """Whether the condition holds for `item`; None when it renders to nothing (null)."""
    try:
        rendered = _render_for(ctx, task.filter_condition, item)
    except ExpressionError:
        if task.error_or_null_behavior == "FAIL":
            raise
        return None
    if rendered is None:
        return None
    return is_truthy(to_kestra_string(rendered).strip())


def run_filter(task: FilterItems, ctx: RunContext) -> dict[str, Any]:
    lines = _lines(ctx, ctx.render_str(task.from_) or "")
    kept: list[str] = []
    for number, line in enumerate(lines, start=1):
        match = _matches(task, ctx, _item(line, number))
        if match is None:
            if task.error_or_null_behavior == "FAIL":
                raise TaskFailed(f"An expression is evaluated to null for item {number}: "
                                 f"`{task.filter_condition}`")
            include = task.error_or_null_behavior == "INCLUDE"
        else:
            include = match if task.filter_type == "INCLUDE" else not match
        if include:
            kept.append(line)
    uri = store_new_file(ctx, task.id, "".join(line + "\n" for line in kept).encode("utf-8"), ".ion")
    return {"uri": uri, "processedItemsTotal": len(lines), "droppedItemsTotal": len(lines) - len(kept)}


register_runner(DeduplicateItems, run_deduplicate)
register_runner(FilterItems, run_filter)
