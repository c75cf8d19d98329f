"""Execution records: states, task runs, the execution (whole, header, update) and the
executor changelog's keys and `TaskRunValues`."""

from __future__ import annotations

from typing import Any, Iterable

from ostinato.execution.model import Attempt, Execution, History, State, TaskRun, Timer
from ostinato.execution.progress import ExecutionProgress
from ostinato.wire.records.common import (
    from_json,
    instant_of_text,
    labels_from_record,
    labels_record,
    opt_from_json,
    opt_json,
    text_of_instant,
    to_json,
)


def state_record(state: State) -> dict[str, Any]:
    """The `State` record of a state: its current state, histories and dates."""
    start, end = state.start_date, state.end_date
    return {
        "current": state.current,
        "histories": [{"state": h.state, "date": instant_of_text(h.date)} for h in state.histories],
        "startDate": None if start is None else instant_of_text(start),
        "endDate": None if end is None else instant_of_text(end),
    }


def state_from_record(record: dict[str, Any]) -> State:
    """The state of a `State` record."""
    return State(record["current"],
                 [History(h["state"], text_of_instant(h["date"])) for h in record["histories"]])


#: progress the executor keeps for itself (its changelog, its store, ExecutionSeeded) and
#: never publishes on `executions`: a ForEach's rendered values, which a run's record would
#: otherwise carry again with each of its changes (O(values) bytes per child that ends)
INTERNAL_PROGRESS = frozenset({"values"})


def task_run_record(run: TaskRun, index: int, *, internal: bool = True) -> dict[str, Any]:
    """A `TaskRun` record; `index` is the run's position in the execution's task run list.
    `internal=False` leaves out INTERNAL_PROGRESS (what `executions` carries)."""
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
        "outputsJson": opt_json(run.outputs),
        "state": state_record(run.state),
        "index": index,
        "block": run.block,
        "lane": run.lane,
        "pos": run.pos,
        "eachValues": list(run.each_values),
        "progressJson": to_json(run.progress.to_dict(internal=internal)),
    }


def task_run_from_record(record: dict[str, Any]) -> TaskRun:
    """The task run of a `TaskRun` record (its progress included)."""
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
        outputs=opt_from_json(record["outputsJson"]),
        block=record["block"],
        lane=record["lane"],
        pos=record["pos"],
        each_values=list(record["eachValues"]),
        progress=from_json(record["progressJson"]),
    )


# ---------------------------------------------------------------- executions


def rebuild_task_outputs(execution: Execution) -> dict[str, Any]:
    """Recompute `execution.task_outputs` (never serialized) from its task runs: the
    outputs templates can read (`TaskRun.outputs_readable`), in list order, nested by
    each-values as the decider records them. Sets it on the execution and returns it."""
    execution.task_outputs = {}
    for run in execution.task_run_list:
        if run.outputs_readable:
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
        "labels": labels_record(execution.labels),
        "outputsJson": opt_json(execution.outputs),
        "triggerJson": opt_json(execution.trigger),
        "parentId": execution.parent_id,
        "originalId": execution.original_id,
        "scheduleDate": (None if execution.schedule_date is None
                         else instant_of_text(execution.schedule_date)),
        "metadataJson": to_json(execution.metadata),
        "errorLogsJson": to_json(execution.error_logs),
        "progressJson": to_json(execution.progress.to_dict()),
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
        labels=labels_from_record(record["labels"]),
        outputs=opt_from_json(record["outputsJson"]),
        trigger=opt_from_json(record["triggerJson"]),
        parent_id=record["parentId"],
        original_id=record["originalId"],
        schedule_date=(None if record["scheduleDate"] is None
                       else text_of_instant(record["scheduleDate"])),
        metadata=from_json(record["metadataJson"]),
        error_logs=from_json(record["errorLogsJson"]),
        progress=ExecutionProgress.from_dict(from_json(record["progressJson"])),
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
    held = run.progress.internal_dict()
    if not held:
        return None
    return {"executionId": execution_id, "taskRunId": run.id, "valuesJson": to_json(held)}


def apply_task_run_values(execution: Execution, record: dict[str, Any]) -> None:
    """Put a `TaskRunValues` record back into its run's progress."""
    run = execution.find(record["taskRunId"])
    if run is None:
        raise ValueError(f"values of task run {record['taskRunId']}, which execution "
                         f"{execution.id} does not have")
    run.progress.restore_internal(from_json(record["valuesJson"]))


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
    """Fold an `ExecutionUpdate`, a whole `Execution` record or one part of a split one into
    the view of an execution a consumer of `executions` keeps; `execution` is None for the
    first one. The view is updated in place, at a cost that follows the size of the update,
    not of the execution. A part before the last changes only the runs it carries (the
    header comes with the last part: `is_partial`). Raises ValueError when an update does
    not follow from the view (a gap)."""
    if "taskRunList" in update and update.get("partCount") is None:
        return execution_from_record(update)
    if execution is None:
        execution = Execution(**_header_fields(update))
    runs = update["taskRunList"] if "taskRunList" in update else update["taskRuns"]
    _fold_runs(execution, runs, update["id"])
    if is_partial(update):
        return execution
    # an update says how many runs there are; the last part ends with the last of them
    count = update["taskRunCount"] if "taskRuns" in update else runs[-1]["index"] + 1
    if len(execution.task_run_list) != count:
        raise ValueError(f"execution {update['id']} has {count} task runs, "
                         f"{len(execution.task_run_list)} known: an update is missing")
    for name, value in _header_fields(update).items():
        setattr(execution, name, value)
    return execution


def _fold_runs(execution: Execution, records: list[dict[str, Any]], execution_id: str) -> None:
    for record in records:
        index = record["index"]
        run = task_run_from_record(record)
        known = len(execution.task_run_list)
        if index < known and execution.task_run_list[index].id != run.id:
            raise ValueError(f"task run {run.id} at index {index} of execution "
                             f"{execution_id}, where {execution.task_run_list[index].id} is")
        if index > known:
            raise ValueError(f"task run {run.id} at index {index} of execution {execution_id}, "
                             f"which has only {known} task runs: an update is missing")
        execution.put(index, run)
        if run.outputs_readable:
            execution.record_outputs(run)


# ---- large executions: the final state in parts (schemas/README.md, "Large executions")

#: task runs per part: a finished execution with more is written as several `Execution`
#: records of at most this many runs each, so no record carries a large execution whole
PART_RUNS = 250


def part_count(run_count: int) -> int:
    """How many `Execution` records an execution of `run_count` task runs is written as."""
    return max(1, -(-run_count // PART_RUNS))


def part_of(index: int) -> int:
    """The part that carries the task run at `index`."""
    return index // PART_RUNS


def part_key(execution_id: str, part: int, count: int) -> str:
    """The key of a part on the compacted `executions`: the execution id for the last part
    (the one with the header), `<id>/part/<n>` for the others, so compaction keeps them all."""
    return execution_id if part == count - 1 else f"{execution_id}/part/{part}"


def execution_part_record(execution: Execution, part: int, *, internal: bool = False) -> dict[str, Any]:
    """Part `part` of `execution`'s `Execution` record: its header and the task runs at
    indexes `part * PART_RUNS` to the next part's; the whole record when there is one part."""
    count = part_count(len(execution.task_run_list))
    if count == 1:
        return execution_record(execution, internal=internal)
    out = _header(execution)
    start = part * PART_RUNS
    out["taskRunList"] = [task_run_record(run, start + i, internal=internal) for i, run
                          in enumerate(execution.task_run_list[start:start + PART_RUNS])]
    out["partIndex"], out["partCount"] = part, count
    return out


def execution_id_of_key(key: str | None) -> str:
    """The execution a key of `executions` belongs to (`<id>` or a part's `<id>/part/<n>`)."""
    return (key or "").split("/part/", 1)[0]


def is_partial(record: dict[str, Any]) -> bool:
    """The record is a part of a split `Execution` other than the last: more follow."""
    count = record.get("partCount")
    return count is not None and record.get("partIndex") != count - 1


VALUES_SUFFIX = "/values"


def changelog_key(execution_id: str, task_run_id: str | None = None, *, values: bool = False) -> str:
    """The executor store's changelog key: `<executionId>` for the header,
    `<executionId>/<taskRunId>` for a task run, `<executionId>/<taskRunId>/values` for its
    `TaskRunValues`."""
    if task_run_id is None:
        return execution_id
    return f"{execution_id}/{task_run_id}" + (VALUES_SUFFIX if values else "")
