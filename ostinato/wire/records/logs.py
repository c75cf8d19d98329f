"""`LogEntry` records (topic `logs`)."""

from __future__ import annotations

from typing import Any

from ostinato.protocol import commands as cmd
from ostinato.execution.logs import LogEntry
from ostinato.wire.records.common import instant


def log_entry_of(command: cmd.EmitLog, *, namespace: str, flow_id: str,
                 tenant_id: str | None = None, attempt: int | None = None) -> LogEntry:
    """The LogEntry of a log line the executor writes."""
    return LogEntry(
        namespace=namespace, flow_id=flow_id, execution_id=command.execution_id,
        level=command.level, message=command.message, timestamp=command.at,
        task_run_id=command.task_run_id, task_id=command.task_id, attempt=attempt,
        tenant_id=tenant_id, thread=command.extra.get("thread"),
    )


def log_entry_record(entry: LogEntry) -> dict[str, Any]:
    """The `LogEntry` record of a log line."""
    return {
        "tenantId": entry.tenant_id,
        "namespace": entry.namespace,
        "flowId": entry.flow_id,
        "executionId": entry.execution_id,
        "taskRunId": entry.task_run_id,
        "taskId": entry.task_id,
        "attempt": entry.attempt,
        "level": entry.level,
        "message": entry.message,
        "timestamp": instant(entry.timestamp),
        "thread": entry.thread,
    }


def log_entry_from_record(record: dict[str, Any]) -> LogEntry:
    """The log line of a `LogEntry` record."""
    return LogEntry(
        namespace=record["namespace"], flow_id=record["flowId"],
        execution_id=record["executionId"], level=record["level"],
        message=record["message"], timestamp=record["timestamp"],
        task_run_id=record["taskRunId"], task_id=record["taskId"],
        attempt=record["attempt"], tenant_id=record["tenantId"], thread=record["thread"],
    )
