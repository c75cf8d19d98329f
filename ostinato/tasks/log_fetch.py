"""`io.kestra.plugin.core.log.Fetch`: an execution's log lines into an items file.

The lines come from the `logs_source` the worker puts in the run context (the services read
the `logs` topic's partition of the execution, ostinato/services/worker/logs_reader.py; the
in-process driver its own list). As Kestra: the current execution unless `executionId` is
given, lines at `level` or more severe, only those of `tasksId` when given (in that order of
tasks), one Ion line per log entry; outputs `uri` and `size` (the number of lines).
A flow reads only the logs of its own namespace's executions (DESIGN.md, invariant 8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from ostinato.execution.logs import LogEntry
from ostinato.flow.tasks_storage import LogFetch
from ostinato.tasks.base import LEVELS, RunContext, TaskFailed, normalize_level, register_runner
from ostinato.tasks.storage.files import store_new_file
from ostinato.tasks.storage.items import item_line

#: execution id -> its log entries, in the order they were written
LogsSource = Callable[[str], Iterable[LogEntry]]
#: where the worker puts the LogsSource in RunContext.services
LOGS_SOURCE = "logs"


def log_item(entry: LogEntry) -> dict[str, Any]:
    """A log entry as Kestra's LogEntry serialises it."""
    stamp = entry.timestamp
    return {
        "tenantId": entry.tenant_id, "namespace": entry.namespace, "flowId": entry.flow_id,
        "taskId": entry.task_id, "executionId": entry.execution_id,
        "taskRunId": entry.task_run_id, "attemptNumber": entry.attempt,
        "timestamp": stamp.isoformat().replace("+00:00", "Z") if isinstance(stamp, datetime) else stamp,
        "level": entry.level, "thread": entry.thread, "message": entry.message,
    }


def select_entries(entries: Iterable[LogEntry], level: str,
                   tasks: list[str] | None) -> list[LogEntry]:
    """The entries at `level` or above; for `tasks`, those of each task in turn."""
    floor = LEVELS.index(normalize_level(level))
    kept = [e for e in entries if LEVELS.index(normalize_level(e.level)) >= floor]
    if tasks is None:
        return kept
    return [e for task_id in tasks for e in kept if e.task_id == task_id]


def run_log_fetch(task: LogFetch, ctx: RunContext) -> dict[str, Any]:
    source = ctx.services.get(LOGS_SOURCE)
    if source is None:
        raise TaskFailed("this worker cannot read logs (no logs source)")
    flow = _mapping(ctx.variables.get("flow"))
    execution = _mapping(ctx.variables.get("execution"))
    namespace = ctx.render_str(task.namespace) or str(flow.get("namespace"))
    flow_id = ctx.render_str(task.flow_id) or (str(flow.get("id")) if not task.execution_id else None)
    execution_id = ctx.render_str(task.execution_id) or str(execution.get("id"))
    if namespace != flow.get("namespace"):
        raise TaskFailed(f"the logs of namespace `{namespace}` are out of this execution's "
                         f"reach: a flow reads only its own namespace's logs")
    entries = [e for e in source(execution_id) if e.namespace == namespace
               and (flow_id is None or not task.flow_id or e.flow_id == flow_id)]
    selected = select_entries(entries, task.level, task.tasks_id)
    data = "".join(item_line(log_item(e)) for e in selected).encode("utf-8")
    return {"uri": store_new_file(ctx, task.id, data, ".ion"), "size": len(selected)}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


register_runner(LogFetch, run_log_fetch)
