"""Worker phases of a ForEachItem (ostinato/flow/tasks_foreach_item.py): the split of the
items file into batch files, and the merge of the children's outputs into one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ostinato.flow.tasks_foreach_item import ForEachItemBatch, ForEachItemMergeOutputs, ForEachItemSplit
from ostinato.storage import uri_path
from ostinato.tasks.base import RunContext, TaskFailed, register_runner
from ostinato.tasks.storage.files import _positive, parse_size, read_file, split_data, store_new_file
from ostinato.tasks.storage.items import item_line


def _batches(ctx: RunContext, batch: ForEachItemBatch, data: bytes) -> list[bytes]:
    """`data` cut as `batch` says: by `bytes`, by `partitions`, else by `rows` (default 1)."""
    separator = (ctx.render_str(batch.separator) or "\n").encode("utf-8")
    if batch.bytes is not None:
        return split_data(data, separator, size=parse_size(ctx.render_str(batch.bytes) or ""))
    if batch.partitions is not None:
        return split_data(data, separator, partitions=_positive(ctx.render(batch.partitions), "partitions"))
    rows = 1 if batch.rows is None else _positive(ctx.render(batch.rows), "rows")
    return split_data(data, separator, rows=rows)


def run_split(task: ForEachItemSplit, ctx: RunContext) -> dict[str, Any]:
    """Store each batch of the items file as a file of this task run. Outputs: `batches`
    (their URIs, in order, which the decider starts one child for each) and, as Kestra,
    `splits` (a file listing them, one a line)."""
    source = ctx.render_str(task.items) or ""
    if not source.startswith("kestra://"):
        raise TaskFailed(f"Unable to split the items from {source}, this is not an internal storage URI!")
    data = read_file(ctx, source, "items file")
    extension = Path(uri_path(source)).suffix or ".ion"
    batches = [store_new_file(ctx, task.id, part, extension) for part in _batches(ctx, task.batch, data)]
    splits = store_new_file(ctx, task.id, "\n".join(batches).encode("utf-8"), ".txt")
    return {"splits": splits, "batches": batches}


def run_merge(task: ForEachItemMergeOutputs, ctx: RunContext) -> dict[str, Any]:
    """One file of the children's flow outputs, a line each in iteration order (output
    `subflowOutputs`); no outputs when the children's flow declares none, as in Kestra."""
    if not task.subflow_outputs:
        return {}
    data = "".join(item_line(outputs) for outputs in task.subflow_outputs).encode("utf-8")
    return {"subflowOutputs": store_new_file(ctx, task.id, data, ".ion")}


register_runner(ForEachItemSplit, run_split)
register_runner(ForEachItemMergeOutputs, run_merge)
