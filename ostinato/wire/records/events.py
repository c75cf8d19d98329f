"""Decider events as records (the `executor` topic): `event_to_record` and back."""

from __future__ import annotations

from typing import Any

from ostinato.protocol import events as ev
from ostinato.wire.records.common import (
    from_json,
    instant,
    instant_of_text,
    labels_from_record,
    labels_record,
    opt_from_json,
    opt_instant,
    opt_json,
    to_json,
)
from ostinato.wire.records.executions import execution_from_record, execution_record


def _event_base(event: ev.Event) -> dict[str, Any]:
    return {"eventId": event.id, "at": instant(event.at), "executionId": event.execution_id}


def _log_line(line: dict[str, Any]) -> dict[str, Any]:
    extra = {k: v for k, v in line.items() if k not in ("level", "message", "timestamp")}
    stamp = line.get("timestamp")
    if isinstance(stamp, str):
        stamp = instant_of_text(stamp)
    return {
        "level": str(line.get("level", "INFO")),
        "message": str(line.get("message", "")),
        "timestamp": opt_instant(stamp),
        "extraJson": to_json(extra) if extra else None,
    }


def _log_line_back(record: dict[str, Any]) -> dict[str, Any]:
    line: dict[str, Any] = {"level": record["level"], "message": record["message"]}
    if record["timestamp"] is not None:
        line["timestamp"] = record["timestamp"]
    if record["extraJson"] is not None:
        line.update(from_json(record["extraJson"]))
    return line


def event_to_record(event: ev.Event) -> tuple[str, dict[str, Any]]:
    """(record name, record) of a decider event."""
    out = _event_base(event)
    if isinstance(event, ev.ExecutionRequested):
        out.update({
            "tenantId": event.tenant_id,
            "namespace": event.namespace,
            "flowId": event.flow_id,
            "flowRevision": event.flow_revision,
            "inputsJson": to_json(event.inputs),
            "labels": labels_record(event.labels),
            "triggerJson": opt_json(event.trigger),
            "scheduleDate": opt_instant(event.schedule_date),
            "parentId": event.parent_id,
            "originalId": event.original_id,
            "metadataJson": to_json(event.metadata),
            "admission": event.admission,
        })
        return "ExecutionRequested", out
    if isinstance(event, ev.WorkerTaskResult):
        out.update({
            "taskRunId": event.task_run_id,
            "attempt": event.attempt,
            "state": event.state,
            "outputsJson": opt_json(event.outputs),
            "logs": [_log_line(line) for line in event.logs],
            "metricsJson": to_json(event.metrics),
        })
        return "WorkerTaskResult", out
    if isinstance(event, ev.SubflowResult):
        out.update({
            "taskRunId": event.task_run_id,
            "attempt": event.attempt,
            "childExecutionId": event.child_execution_id,
            "state": event.state,
            "outputsJson": opt_json(event.outputs),
            "taskOutputsJson": to_json(event.task_outputs),
            "message": event.message,
        })
        return "SubflowResult", out
    if isinstance(event, ev.TimerFired):
        out["timerId"] = event.timer_id
        return "TimerFired", out
    if isinstance(event, ev.Kill):
        return "Kill", out
    if isinstance(event, ev.Admit):
        return "Admit", out
    if isinstance(event, ev.Replay):
        out["newExecutionId"] = event.new_execution_id
        out["taskRunId"] = event.task_run_id
        return "Replay", out
    if isinstance(event, ev.ExecutionSeeded):
        out["fromTaskRunId"] = event.from_task_run_id
        out["source"] = execution_record(event.source)
        return "ExecutionSeeded", out
    if isinstance(event, ev.Restart):
        out["taskRunId"] = event.task_run_id
        return "Restart", out
    if isinstance(event, ev.Resume):
        out.update({"taskRunId": event.task_run_id, "inputsJson": to_json(event.inputs)})
        return "Resume", out
    raise TypeError(f"no record for event {type(event).__name__}")


#: the records that are decider events (what the `executor` topic carries, Restart aside)
EVENT_RECORDS = frozenset(
    {"ExecutionRequested", "WorkerTaskResult", "SubflowResult", "TimerFired", "Kill", "Resume",
     "Admit", "Restart", "Replay", "ExecutionSeeded"}
)


def record_to_event(record_name: str, record: dict[str, Any]) -> ev.Event:
    """The decider event of a record (`record_name` short or full). `Restart` has no event
    yet: it raises ValueError, as any record that is not an event."""
    name = record_name.rsplit(".", 1)[-1]
    base = {"id": record["eventId"], "at": record["at"], "execution_id": record["executionId"]}
    if name == "ExecutionRequested":
        return ev.ExecutionRequested(
            **base,
            namespace=record["namespace"],
            flow_id=record["flowId"],
            flow_revision=record["flowRevision"],
            tenant_id=record["tenantId"],
            inputs=from_json(record["inputsJson"]),
            labels=labels_from_record(record["labels"]),
            trigger=opt_from_json(record["triggerJson"]),
            schedule_date=record["scheduleDate"],
            parent_id=record["parentId"],
            original_id=record["originalId"],
            metadata=from_json(record["metadataJson"]),
            admission=record.get("admission"),
        )
    if name == "WorkerTaskResult":
        return ev.WorkerTaskResult(
            **base,
            task_run_id=record["taskRunId"],
            attempt=record["attempt"],
            state=record["state"],
            outputs=opt_from_json(record["outputsJson"]),
            logs=[_log_line_back(line) for line in record["logs"]],
            metrics=from_json(record["metricsJson"]),
        )
    if name == "SubflowResult":
        return ev.SubflowResult(
            **base,
            task_run_id=record["taskRunId"],
            attempt=record["attempt"],
            child_execution_id=record["childExecutionId"],
            state=record["state"],
            outputs=opt_from_json(record["outputsJson"]),
            task_outputs=from_json(record["taskOutputsJson"]),
            message=record["message"],
        )
    if name == "TimerFired":
        return ev.TimerFired(**base, timer_id=record["timerId"])
    if name == "Kill":
        return ev.Kill(**base)
    if name == "Admit":
        return ev.Admit(**base)
    if name == "Replay":
        return ev.Replay(**base, new_execution_id=record["newExecutionId"],
                         task_run_id=record.get("taskRunId"))
    if name == "ExecutionSeeded":
        return ev.ExecutionSeeded(**base, source=execution_from_record(record["source"]),
                                  from_task_run_id=record["fromTaskRunId"])
    if name == "Restart":
        return ev.Restart(**base, task_run_id=record["taskRunId"])
    if name == "Resume":
        return ev.Resume(**base, task_run_id=record["taskRunId"],
                         inputs=from_json(record["inputsJson"]))
    raise ValueError(f"a {name} record is not a decider event")
