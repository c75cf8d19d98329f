"""Pure conversions between ostinato's objects and the Avro records of `schemas/`.

A record is the dict fastavro writes and reads: camelCase fields, arbitrary JSON values
as JSON text (`outputsJson` ...), instants as timezone-aware datetimes (`timestamp-micros`).
The execution model keeps its dates as ISO text (`History.date`, `Timer.fire_at`); they
travel as instants and come back as the same text (`iso()` of the UTC instant).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution.model import Attempt, Execution, History, State, TaskRun, Timer, iso
from ostinato.flow.tasks import Task

# ---------------------------------------------------------------- values


def to_json(value: Any) -> str:
    """JSON text of an arbitrary value, compact (what every `...Json` field holds)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def from_json(text: str) -> Any:
    return json.loads(text)


def _opt_json(value: Any) -> str | None:
    return None if value is None else to_json(value)


def _opt_from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def instant(moment: datetime) -> datetime:
    """An aware datetime for a `timestamp-micros` field (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _opt_instant(moment: datetime | None) -> datetime | None:
    return None if moment is None else instant(moment)


def instant_of_text(text: str) -> datetime:
    """The instant of the model's ISO text (`2024-01-01T00:00:00Z`)."""
    return instant(datetime.fromisoformat(text))


def text_of_instant(moment: datetime) -> str:
    """The model's ISO text of an instant: UTC, `Z` suffix, as `iso()` writes it."""
    return iso(instant(moment).astimezone(timezone.utc))


def _labels(labels: dict[str, Any]) -> list[dict[str, str]]:
    """Labels as [{key, value}]; a value that is not a string is written as JSON text (as
    Kestra's labels, they are strings)."""
    return [{"key": str(k), "value": v if isinstance(v, str) else to_json(v)}
            for k, v in labels.items()]


def _labels_back(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: item["value"] for item in items}


# ---------------------------------------------------------------- states, attempts, runs


def state_record(state: State) -> dict[str, Any]:
    start, end = state.start_date, state.end_date
    return {
        "current": state.current,
        "histories": [{"state": h.state, "date": instant_of_text(h.date)} for h in state.histories],
        "startDate": None if start is None else instant_of_text(start),
        "endDate": None if end is None else instant_of_text(end),
    }


def state_from_record(record: dict[str, Any]) -> State:
    return State(record["current"],
                 [History(h["state"], text_of_instant(h["date"])) for h in record["histories"]])


#: progress the executor keeps for itself (its changelog, its store, ExecutionSeeded) and
#: never publishes on `executions`: a ForEach's rendered values, which a run's record would
#: otherwise carry again with each of its changes (O(values) bytes per child that ends)
INTERNAL_PROGRESS = frozenset({"values"})


def task_run_record(run: TaskRun, index: int, *, internal: bool = True) -> dict[str, Any]:
    """A `TaskRun` record; `index` is the run's position in the execution's task run list.
    `internal=False` leaves out INTERNAL_PROGRESS (what `executions` carries)."""
    progress = run.progress
    if not internal and not INTERNAL_PROGRESS.isdisjoint(progress):
        progress = {k: v for k, v in progress.items() if k not in INTERNAL_PROGRESS}
    return {
        "id": run.id,
        "executionId": run.execution_id,
        "namespace": run.namespace,
        "flowId": run.flow_id,
        "taskId": run.task_id,
        "parentTaskRunId": run.parent_task_run_id,
        "value": run.value,
        "iteration": run.iteration,
        "attempts": [{"state": state_record(a.state), "metricsJson": to_json(a.metrics)}
                     for a in run.attempts],
        "outputsJson": _opt_json(run.outputs),
        "state": state_record(run.state),
        "index": index,
        "block": run.block,
        "lane": run.lane,
        "pos": run.pos,
        "eachValues": list(run.each_values),
        "progressJson": to_json(progress),
    }


def task_run_from_record(record: dict[str, Any]) -> TaskRun:
    return TaskRun(
        id=record["id"],
        execution_id=record["executionId"],
        namespace=record["namespace"],
        flow_id=record["flowId"],
        task_id=record["taskId"],
        state=state_from_record(record["state"]),
        parent_task_run_id=record["parentTaskRunId"],
        value=record["value"],
        iteration=record["iteration"],
        attempts=[Attempt(state_from_record(a["state"]), from_json(a["metricsJson"]))
                  for a in record["attempts"]],
        outputs=_opt_from_json(record["outputsJson"]),
        block=record["block"],
        lane=record["lane"],
        pos=record["pos"],
        each_values=list(record["eachValues"]),
        progress=from_json(record["progressJson"]),
    )


# ---------------------------------------------------------------- executions


def rebuild_task_outputs(execution: Execution) -> dict[str, Any]:
    """Recompute `execution.task_outputs` (never serialized) from its task runs: the
    outputs of every terminal run, in list order, nested by each-values as the decider
    records them. Sets it on the execution and returns it."""
    execution.task_outputs = {}
    for run in execution.task_run_list:
        if run.state.terminal:
            execution.record_outputs(run)
    return execution.task_outputs


def _header(execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id,
        "namespace": execution.namespace,
        "flowId": execution.flow_id,
        "flowRevision": execution.flow_revision,
        "tenantId": execution.tenant_id,
        "state": state_record(execution.state),
        "inputsJson": to_json(execution.inputs),
        "labels": _labels(execution.labels),
        "outputsJson": _opt_json(execution.outputs),
        "triggerJson": _opt_json(execution.trigger),
        "parentId": execution.parent_id,
        "originalId": execution.original_id,
        "scheduleDate": (None if execution.schedule_date is None
                         else instant_of_text(execution.schedule_date)),
        "metadataJson": to_json(execution.metadata),
        "errorLogsJson": to_json(execution.error_logs),
        "progressJson": to_json(execution.progress),
        "timers": [
            {"id": t.id, "fireAt": instant_of_text(t.fire_at), "kind": t.kind,
             "taskRunId": t.task_run_id}
            for t in execution.timers.values()
        ],
        "sequence": execution.sequence,
    }


def _header_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The Execution fields of a header record (everything but the task runs)."""
    timers = [Timer(t["id"], text_of_instant(t["fireAt"]), t["kind"], t["taskRunId"])
              for t in record["timers"]]
    return dict(
        id=record["id"],
        namespace=record["namespace"],
        flow_id=record["flowId"],
        flow_revision=record["flowRevision"],
        state=state_from_record(record["state"]),
        tenant_id=record["tenantId"],
        inputs=from_json(record["inputsJson"]),
        labels=_labels_back(record["labels"]),
        outputs=_opt_from_json(record["outputsJson"]),
        trigger=_opt_from_json(record["triggerJson"]),
        parent_id=record["parentId"],
        original_id=record["originalId"],
        schedule_date=(None if record["scheduleDate"] is None
                       else text_of_instant(record["scheduleDate"])),
        metadata=from_json(record["metadataJson"]),
        error_logs=from_json(record["errorLogsJson"]),
        progress=from_json(record["progressJson"]),
        timers={t.id: t for t in timers},
        sequence=record["sequence"],
    )


def _from_header(record: dict[str, Any], runs: list[TaskRun]) -> Execution:
    execution = Execution(**_header_fields(record), task_run_list=runs)
    rebuild_task_outputs(execution)
    return execution


def execution_record(execution: Execution, *, internal: bool = True) -> dict[str, Any]:
    """The `Execution` record: the whole execution (`internal=False`: as `executions` and
    `execution-results` carry it, without INTERNAL_PROGRESS)."""
    out = _header(execution)
    out["taskRunList"] = [task_run_record(run, i, internal=internal)
                          for i, run in enumerate(execution.task_run_list)]
    return out


def execution_from_record(record: dict[str, Any]) -> Execution:
    """The execution of an `Execution` record (task outputs rebuilt)."""
    return _from_header(record, [task_run_from_record(r) for r in record["taskRunList"]])


def execution_header_record(execution: Execution) -> dict[str, Any]:
    """The `ExecutionHeader` record: everything but the task runs, and their count."""
    out = _header(execution)
    out["taskRunCount"] = len(execution.task_run_list)
    return out


def _indexes(execution: Execution, task_run_ids: Iterable[str]) -> list[tuple[int, TaskRun]]:
    """(index, run) of the runs named, in list order (each found through the index)."""
    found = []
    for run_id in set(task_run_ids):
        index = execution.index_of(run_id)
        if index is None:
            raise KeyError(f"no task run {run_id} in execution {execution.id}")
        found.append((index, execution.task_run_list[index]))
    found.sort(key=lambda pair: pair[0])
    return found


def task_run_records(execution: Execution, task_run_ids: Iterable[str], *,
                     internal: bool = True) -> list[dict[str, Any]]:
    """`TaskRun` records (with their index) of the runs named. The executor's changelog
    (key `changelog_key(execution.id, run id)`) takes them with `internal=False` and the
    INTERNAL_PROGRESS in a `TaskRunValues` record of its own."""
    return [task_run_record(run, index, internal=internal)
            for index, run in _indexes(execution, task_run_ids)]


def task_run_values_record(execution_id: str, run: TaskRun) -> dict[str, Any] | None:
    """The `TaskRunValues` record of a run's INTERNAL_PROGRESS; None if it has none."""
    held = {k: v for k, v in run.progress.items() if k in INTERNAL_PROGRESS}
    if not held:
        return None
    return {"executionId": execution_id, "taskRunId": run.id, "valuesJson": to_json(held)}


def apply_task_run_values(execution: Execution, record: dict[str, Any]) -> None:
    """Put a `TaskRunValues` record back into its run's progress."""
    run = execution.find(record["taskRunId"])
    if run is None:
        raise ValueError(f"values of task run {record['taskRunId']}, which execution "
                         f"{execution.id} does not have")
    run.progress.update(from_json(record["valuesJson"]))


def execution_update_record(execution: Execution, changed: Iterable[str]) -> dict[str, Any]:
    """The `ExecutionUpdate` record, as `executions` carries it: the header and only the
    task runs named in `changed` (those one decision created or changed)."""
    out = execution_header_record(execution)
    out["taskRuns"] = task_run_records(execution, changed, internal=False)
    return out


def execution_from_changelog(header: dict[str, Any], task_runs: Iterable[dict[str, Any]]) -> Execution:
    """The execution of an `ExecutionHeader` record and its `TaskRun` records (any order;
    each placed by its index). Raises ValueError if a run is missing or the runs do not
    belong to the header's execution."""
    by_index: dict[int, dict[str, Any]] = {}
    for record in task_runs:
        if record["executionId"] != header["id"]:
            raise ValueError(f"task run {record['id']} belongs to execution "
                             f"{record['executionId']}, not {header['id']}")
        by_index[record["index"]] = record
    count = header["taskRunCount"]
    if sorted(by_index) != list(range(count)):
        missing = sorted(set(range(count)) - set(by_index))
        extra = sorted(set(by_index) - set(range(count)))
        raise ValueError(f"execution {header['id']} has {count} task runs; "
                         f"missing indexes {missing[:10]}, unexpected indexes {extra[:10]}")
    return _from_header(header, [task_run_from_record(by_index[i]) for i in range(count)])


def apply_execution_update(execution: Execution | None, update: dict[str, Any]) -> Execution:
    """Fold an `ExecutionUpdate` (or a whole `Execution` record) into the view of an
    execution a consumer of `executions` keeps; `execution` is None for the first one.
    The view is updated in place, at a cost that follows the size of the update, not of
    the execution. Raises ValueError when an update does not follow from it (a gap)."""
    if "taskRunList" in update:
        return execution_from_record(update)
    if execution is None:
        execution = Execution(**_header_fields(update))
    for record in update["taskRuns"]:
        index = record["index"]
        run = task_run_from_record(record)
        known = len(execution.task_run_list)
        if index < known and execution.task_run_list[index].id != run.id:
            raise ValueError(f"task run {run.id} at index {index} of execution "
                             f"{update['id']}, where {execution.task_run_list[index].id} is")
        if index > known:
            raise ValueError(f"task run {run.id} at index {index} of execution {update['id']}, "
                             f"which has only {known} task runs: an update is missing")
        execution.put(index, run)
        if run.state.terminal:
            execution.record_outputs(run)
    if len(execution.task_run_list) != update["taskRunCount"]:
        raise ValueError(f"execution {update['id']} has {update['taskRunCount']} task runs, "
                         f"{len(execution.task_run_list)} known: an update is missing")
    for name, value in _header_fields(update).items():
        setattr(execution, name, value)
    return execution


VALUES_SUFFIX = "/values"


def changelog_key(execution_id: str, task_run_id: str | None = None, *, values: bool = False) -> str:
    """The executor store's changelog key: `<executionId>` for the header,
    `<executionId>/<taskRunId>` for a task run, `<executionId>/<taskRunId>/values` for its
    `TaskRunValues`."""
    if task_run_id is None:
        return execution_id
    return f"{execution_id}/{task_run_id}" + (VALUES_SUFFIX if values else "")


# ---------------------------------------------------------------- events


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
        "timestamp": _opt_instant(stamp),
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
            "labels": _labels(event.labels),
            "triggerJson": _opt_json(event.trigger),
            "scheduleDate": _opt_instant(event.schedule_date),
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
            "outputsJson": _opt_json(event.outputs),
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
            "outputsJson": _opt_json(event.outputs),
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
            labels=_labels_back(record["labels"]),
            trigger=_opt_from_json(record["triggerJson"]),
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
            outputs=_opt_from_json(record["outputsJson"]),
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
            outputs=_opt_from_json(record["outputsJson"]),
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


# ---------------------------------------------------------------- worker tasks


@dataclass(frozen=True)
class WorkerTask:
    """What a worker receives: one attempt of a runnable task run."""

    execution_id: str
    task_run_id: str
    attempt: int
    task: Task
    variables: dict[str, Any]
    namespace: str
    flow_id: str
    tenant_id: str | None
    at: datetime
    event_id: str | None = None
    #: when the worker must give up (the task's timeout from `at`), if any
    deadline: datetime | None = None

    def run_task(self) -> cmd.RunTask:
        """The decider's command again."""
        return cmd.RunTask(self.execution_id, self.task_run_id, self.attempt, self.task,
                           self.variables)


def task_json(task: Task) -> str:
    """A task definition as JSON text, shaped like the flow's YAML."""
    return to_json(task.model_dump(by_alias=True, exclude_none=True))


def worker_task_record(
    command: cmd.RunTask,
    *,
    namespace: str,
    flow_id: str,
    at: datetime,
    tenant_id: str | None = None,
    event_id: str | None = None,
    deadline: datetime | None = None,
) -> dict[str, Any]:
    """The `WorkerTask` record of a RunTask command of an execution of `namespace.flow_id`."""
    return {
        "eventId": event_id,
        "at": instant(at),
        "executionId": command.execution_id,
        "taskRunId": command.task_run_id,
        "attempt": command.attempt,
        "tenantId": tenant_id,
        "namespace": namespace,
        "flowId": flow_id,
        "taskId": command.task.id,
        "taskType": command.task.type,
        "taskJson": task_json(command.task),
        "variablesJson": to_json(command.variables),
        "deadline": _opt_instant(deadline),
    }


def worker_task_from_record(record: dict[str, Any]) -> WorkerTask:
    """The WorkerTask of a record (the task rebuilt as its Task subclass). Raises
    pydantic's ValidationError when the task definition is not valid here (an unknown
    type for this worker)."""
    return WorkerTask(
        execution_id=record["executionId"],
        task_run_id=record["taskRunId"],
        attempt=record["attempt"],
        task=Task.model_validate(from_json(record["taskJson"])),
        variables=from_json(record["variablesJson"]),
        namespace=record["namespace"],
        flow_id=record["flowId"],
        tenant_id=record["tenantId"],
        at=record["at"],
        event_id=record["eventId"],
        deadline=record["deadline"],
    )


# ---------------------------------------------------------------- logs


@dataclass(frozen=True)
class LogEntry:
    """A log line of an execution (topic `logs`)."""

    namespace: str
    flow_id: str
    execution_id: str
    level: str
    message: str
    timestamp: datetime
    task_run_id: str | None = None
    task_id: str | None = None
    attempt: int | None = None
    tenant_id: str | None = None
    thread: str | None = None


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
    return LogEntry(
        namespace=record["namespace"], flow_id=record["flowId"],
        execution_id=record["executionId"], level=record["level"],
        message=record["message"], timestamp=record["timestamp"],
        task_run_id=record["taskRunId"], task_id=record["taskId"],
        attempt=record["attempt"], tenant_id=record["tenantId"], thread=record["thread"],
    )


# ---------------------------------------------------------------- flows


@dataclass(frozen=True)
class FlowRevision:
    """A flow revision as the `flows` topic holds it: its YAML source."""

    namespace: str
    id: str
    revision: int
    source: str
    updated: datetime
    tenant_id: str | None = None
    deleted: bool = False

    @property
    def key(self) -> str:
        return flow_key(self.tenant_id, self.namespace, self.id, self.revision)


def flow_key(tenant_id: str | None, namespace: str, flow_id: str, revision: int) -> str:
    """The key on `flows`: `tenant/namespace/flowId/revision` (tenant empty when none)."""
    return f"{tenant_id or ''}/{namespace}/{flow_id}/{revision}"


def flow_record(flow: FlowRevision) -> dict[str, Any]:
    return {
        "tenantId": flow.tenant_id,
        "namespace": flow.namespace,
        "id": flow.id,
        "revision": flow.revision,
        "source": flow.source,
        "deleted": flow.deleted,
        "updated": instant(flow.updated),
    }


def flow_from_record(record: dict[str, Any]) -> FlowRevision:
    return FlowRevision(
        namespace=record["namespace"], id=record["id"], revision=record["revision"],
        source=record["source"], updated=record["updated"], tenant_id=record["tenantId"],
        deleted=record["deleted"],
    )


# ---------------------------------------------------------------- triggers


@dataclass(frozen=True)
class TriggerEvent:
    """A request to start a flow, published on `triggers` by a user or a system."""

    namespace: str
    flow_id: str
    at: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None
    dedup_key: str | None = None

    @property
    def key(self) -> str:
        return trigger_key(self.tenant_id, self.namespace, self.flow_id)


def trigger_key(tenant_id: str | None, namespace: str, flow_id: str) -> str:
    """The key on `triggers`: `tenant/namespace/flowId` (tenant empty when none)."""
    return f"{tenant_id or ''}/{namespace}/{flow_id}"


def trigger_event_record(event: TriggerEvent) -> dict[str, Any]:
    return {
        "tenantId": event.tenant_id,
        "namespace": event.namespace,
        "flowId": event.flow_id,
        "inputsJson": to_json(event.inputs),
        "labels": _labels(event.labels),
        "dedupKey": event.dedup_key,
        "at": instant(event.at),
    }


def trigger_event_from_record(record: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(
        namespace=record["namespace"], flow_id=record["flowId"], at=record["at"],
        inputs=from_json(record["inputsJson"]), labels=_labels_back(record["labels"]),
        tenant_id=record["tenantId"], dedup_key=record["dedupKey"],
    )


# ---------------------------------------------------------------- dead letters


@dataclass(frozen=True)
class DeadLetter:
    """A record a service could not process, with where it came from and why."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    reason: str
    at: datetime


def dead_letter_record(letter: DeadLetter) -> dict[str, Any]:
    return {
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": letter.key,
        "value": letter.value,
        "reason": letter.reason,
        "at": instant(letter.at),
    }


def dead_letter_from_record(record: dict[str, Any]) -> DeadLetter:
    return DeadLetter(
        topic=record["topic"], partition=record["partition"], offset=record["offset"],
        key=record["key"], value=record["value"], reason=record["reason"], at=record["at"],
    )
