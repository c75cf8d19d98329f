"""Kestra's JSON shapes of flows, executions and logs (pure functions)."""

from __future__ import annotations

from typing import Any

from ostinato.execution.model import Execution, iso
from ostinato.flow.model import Flow
from ostinato.wire.records import FlowRevision, LogEntry, text_of_instant

#: Kestra's log levels, lowest first (a `minLevel` keeps that level and those after it)
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


def execution_json(execution: Execution) -> dict[str, Any]:
    return execution.to_dict(internal=False)


def summary_of_header(header: dict[str, Any]) -> dict[str, Any]:
    """What a search filters and sorts on, kept beside each execution in the view: from
    its `ExecutionHeader` record."""
    state = header["state"]
    return {
        "id": header["id"],
        "namespace": header["namespace"],
        "flowId": header["flowId"],
        "flowRevision": header["flowRevision"],
        "tenantId": header["tenantId"],
        "state": state["current"],
        "startDate": None if state["startDate"] is None else text_of_instant(state["startDate"]),
        "endDate": None if state["endDate"] is None else text_of_instant(state["endDate"]),
        "labels": {str(item["key"]): str(item["value"]) for item in header["labels"]},
    }


def log_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "namespace": entry.namespace,
        "flowId": entry.flow_id,
        "taskId": entry.task_id,
        "executionId": entry.execution_id,
        "taskRunId": entry.task_run_id,
        "attemptNumber": entry.attempt,
        "triggerId": None,
        "timestamp": iso(entry.timestamp),
        "level": entry.level,
        "thread": entry.thread,
        "message": entry.message,
        "tenantId": entry.tenant_id,
    }


def log_text(entry: dict[str, Any]) -> str:
    """A log line as Kestra's download writes it: `timestamp LEVEL message`."""
    return f"{entry['timestamp']} {entry['level']} {entry['message']}"


def level_at_least(level: str, minimum: str | None) -> bool:
    if minimum is None:
        return True
    rank = {name: i for i, name in enumerate(LEVELS)}
    return rank.get(level, len(LEVELS)) >= rank.get(minimum.upper(), 0)


def flow_json(revision: FlowRevision, flow: Flow | None = None, *, source: bool = True) -> dict[str, Any]:
    """A flow as Kestra answers it: its properties, `revision`, `deleted` and the YAML
    `source` (`flow` is the parsed revision; None for a deletion, which keeps the ids)."""
    out: dict[str, Any] = {}
    if flow is not None:
        out.update(flow.model_dump(by_alias=True, exclude_none=True, mode="json", serialize_as_any=True))
    out.update({"id": revision.id, "namespace": revision.namespace, "revision": revision.revision,
                "deleted": revision.deleted, "updated": iso(revision.updated),
                "tenantId": revision.tenant_id})
    if source:
        out["source"] = revision.source
    return out
