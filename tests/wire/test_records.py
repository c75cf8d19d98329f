"""Objects -> records -> bytes -> records -> equal objects."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.execution.progress import TaskRunProgress
from ostinato.flow.parser import parse_flow
from ostinato.wire import (
    DeadLetter,
    FlowRevision,
    LogEntry,
    TriggerEvent,
    apply_execution_update,
    changelog_key,
    dead_letter_from_record,
    dead_letter_record,
    default_codec,
    event_to_record,
    execution_from_changelog,
    execution_from_record,
    execution_header_record,
    execution_record,
    execution_update_record,
    flow_from_record,
    flow_key,
    flow_record,
    log_entry_from_record,
    log_entry_of,
    log_entry_record,
    rebuild_task_outputs,
    record_to_event,
    task_run_records,
    trigger_event_from_record,
    trigger_event_record,
    trigger_key,
    worker_task_from_record,
    worker_task_record,
)

from tests.wire.samples import at, events, execution, task_run


def trip(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """Through bytes and back, checking the record name."""
    codec = default_codec()
    decoded_name, decoded = codec.decode(codec.encode(name, record), expected=name)
    assert decoded_name == name
    return decoded


def same_execution(a: Execution, b: Execution) -> None:
    assert b.to_dict() == a.to_dict()
    assert b.task_outputs == a.task_outputs
    assert [r.id for r in b.task_run_list] == [r.id for r in a.task_run_list]
    assert b == a
    for run in b.task_run_list:  # the index by id is rebuilt
        assert b.run(run.id) is run


# ---------------------------------------------------------------- events


@pytest.mark.parametrize("event", events(), ids=lambda e: f"{type(e).__name__}-{e.id}")
def test_event_round_trip(event: Any) -> None:
    name, record = event_to_record(event)
    back = record_to_event(name, trip(name, record))
    assert back == event
    assert type(back) is type(event)
    assert back.at.tzinfo is not None and back.at == event.at


def test_event_times_are_exact_to_the_microsecond_and_keep_the_instant() -> None:
    from ostinato.decider import events as ev

    paris = timezone(timedelta(hours=2))
    event = ev.Kill(id="k", at=datetime(2024, 1, 1, 10, 0, 0, 123457, tzinfo=paris), execution_id="x")
    back = record_to_event(*("Kill", trip(*event_to_record(event))))
    assert back.at == event.at and back.at.microsecond == 123457
    assert back.at.utcoffset() == timedelta(0)  # the same instant, in UTC


def test_restart_and_admit_round_trip_as_events() -> None:
    record = trip("Restart", {"eventId": "r", "at": at(0), "executionId": "x", "taskRunId": None})
    event = record_to_event("Restart", record)
    assert isinstance(event, ev.Restart) and event.execution_id == "x"
    assert event_to_record(event) == ("Restart", record)
    admit = ev.Admit("a", at(1), "y")
    name, value = event_to_record(admit)
    assert record_to_event(name, trip(name, value)) == admit


def test_a_seeded_execution_carries_its_source_whole() -> None:
    flow = parse_flow("id: f\nnamespace: a.b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n")
    from ostinato.inprocess import InProcessRunner
    import tempfile
    from pathlib import Path

    runner = InProcessRunner(storage_dir=Path(tempfile.mkdtemp()))
    runner.deploy(flow)
    source = runner.run(flow)
    event = ev.ExecutionSeeded("s", at(0), "new", source=source, from_task_run_id="r")
    name, record = event_to_record(event)
    back = record_to_event(name, trip(name, record))
    assert isinstance(back, ev.ExecutionSeeded) and back.from_task_run_id == "r"
    assert back.source.to_dict() == source.to_dict()


def test_a_record_that_is_not_an_event_is_refused() -> None:
    with pytest.raises(ValueError, match="not a decider event"):
        record_to_event("LogEntry", {"eventId": "e", "at": at(0), "executionId": "x"})


def test_json_fields_are_compact_json() -> None:
    name, record = event_to_record(events()[0])
    assert record["inputsJson"].startswith('{"name":"Zoë","n":3,')
    assert json.loads(record["inputsJson"])["list"] == [1, "two", {"three": 3}]


# ---------------------------------------------------------------- executions


def test_execution_round_trip() -> None:
    ex = execution()
    rebuild_task_outputs(ex)
    back = execution_from_record(trip("Execution", execution_record(ex)))
    same_execution(ex, back)
    assert back.timers["pause/9"].fire_at == ex.timers["pause/9"].fire_at
    assert back.original_id == "ex1" and back.schedule_date == ex.schedule_date


def test_execution_with_nothing_optional() -> None:
    ex = Execution(id="e", namespace="n", flow_id="f", flow_revision=1,
                   state=execution().state)
    back = execution_from_record(trip("Execution", execution_record(ex)))
    same_execution(ex, back)
    assert back.original_id is None and back.tenant_id is None and back.outputs is None


def test_state_carries_derived_dates_for_consumers() -> None:
    ex = execution()
    record = trip("Execution", execution_record(ex))
    done = record["taskRunList"][1]["state"]
    assert done["startDate"] == at(1) and done["endDate"] == at(2.123456)
    assert record["taskRunList"][-1]["state"]["endDate"] is None  # still running


def test_rebuild_task_outputs_nests_by_each_values() -> None:
    ex = execution(6)
    outputs = rebuild_task_outputs(ex)
    assert ex.task_outputs is outputs
    # tr1, tr3 ran in each-loops (values a/1), tr2, tr4 outside; tr5 is not terminal
    assert outputs == {
        "task1": {"a": {"1": {"value": "v1", "i": 1}}},
        "task3": {"a": {"1": {"value": "v3", "i": 3}}},
        "task2": {"value": "v2", "i": 2},
        "task4": {"value": "v4", "i": 4},
    }


def test_changelog_round_trip_in_any_order() -> None:
    ex = execution(20)
    rebuild_task_outputs(ex)
    header = trip("ExecutionHeader", execution_header_record(ex))
    assert header["taskRunCount"] == 20
    runs = [trip("TaskRun", r) for r in task_run_records(ex, [r.id for r in ex.task_run_list])]
    back = execution_from_changelog(header, reversed(runs))
    same_execution(ex, back)
    assert changelog_key("ex1") == "ex1" and changelog_key("ex1", "tr3") == "ex1/tr3"
    with pytest.raises(ValueError, match="missing indexes \\[3\\]"):
        execution_from_changelog(header, runs[:3] + runs[4:])


def test_execution_update_carries_only_the_changed_runs() -> None:
    ex = execution(10)
    view = apply_execution_update(None, trip("ExecutionUpdate", execution_update_record(
        ex, [r.id for r in ex.task_run_list])))
    same_execution(published(rebuild(ex)), view)
    # one decision: a run changes, another is created
    ex.task_run_list[3].state.move("FAILED", at(100))
    ex.add(task_run(ex.id, 10, parent="tr0", outputs={"value": "new"}))
    ex.sequence += 1
    update = trip("ExecutionUpdate", execution_update_record(ex, ["tr10", "tr3"]))
    assert [r["id"] for r in update["taskRuns"]] == ["tr3", "tr10"]
    assert [r["index"] for r in update["taskRuns"]] == [3, 10]
    assert update["taskRunCount"] == 11
    view = apply_execution_update(view, update)
    same_execution(published(rebuild(ex)), view)
    # a gap (a missed update) is an error, not a silent divergence
    ex.add(task_run(ex.id, 11, parent="tr0"))
    ex.add(task_run(ex.id, 12, parent="tr0"))
    with pytest.raises(ValueError, match="an update is missing"):
        apply_execution_update(view, execution_update_record(ex, ["tr12"]))
    # a whole Execution record replaces the view
    same_execution(rebuild(ex), apply_execution_update(view, execution_record(ex)))


def published(ex: Execution) -> Execution:
    """The execution as a reader of `executions` sees it: no INTERNAL_PROGRESS in its runs."""
    for run in ex.task_run_list:
        run.progress = TaskRunProgress.from_dict(run.progress.to_dict(internal=False))
    return ex


def rebuild(ex: Execution) -> Execution:
    rebuild_task_outputs(ex)
    return ex


def test_update_of_one_run_is_small_while_the_whole_execution_is_large() -> None:
    ex = execution(2_000)
    codec = default_codec()
    whole = codec.encode("Execution", execution_record(ex))
    update = codec.encode("ExecutionUpdate", execution_update_record(ex, ["tr1000"]))
    print(f"Execution of 2,000 task runs: {len(whole):,} bytes; "
          f"ExecutionUpdate of one: {len(update):,} bytes")
    assert len(update) < 5_000
    assert len(whole) > 200 * len(update)


# ---------------------------------------------------------------- worker tasks

FLOW = """
id: wire
namespace: company.team
tasks:
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.name }}"
    timeout: PT5M
    retry:
      type: exponential
      interval: PT1S
      maxInterval: PT10S
      maxAttempts: 3
  - id: log
    type: io.kestra.core.tasks.log.Log
    message: ["a", "b"]
    level: WARN
  - id: out
    type: io.kestra.plugin.core.output.OutputValues
    values:
      x: 1
      y: {"z": [true, null]}
  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: https://example.com
    method: POST
    body: "{{ outputs.out.values.x }}"
    headers:
      X-A: b
"""


def test_worker_task_round_trip() -> None:
    flow = parse_flow(FLOW)
    for task in flow.tasks:
        command = cmd.RunTask("ex1", "tr1", 2, task,
                              {"inputs": {"name": "Zoë"}, "outputs": {"a": {"b": [1]}},
                               "taskrun": {"id": "tr1", "value": None}})
        record = worker_task_record(command, namespace="company.team", flow_id="wire",
                                    tenant_id="main", at=at(1), event_id="c1",
                                    deadline=at(301))
        assert record["taskType"] == task.type and record["taskId"] == task.id
        back = worker_task_from_record(trip("WorkerTask", record))
        assert type(back.task) is type(task)
        assert back.task == task
        assert back.run_task() == command
        assert (back.namespace, back.flow_id, back.tenant_id, back.at, back.event_id,
                back.deadline) == ("company.team", "wire", "main", at(1), "c1", at(301))
    first = json.loads(worker_task_record(
        cmd.RunTask("e", "t", 1, flow.tasks[0], {}), namespace="n", flow_id="f", at=at(0),
    )["taskJson"])
    assert first["retry"]["maxInterval"] == "PT10S"  # the YAML's shape: camelCase, no nulls
    assert "description" not in first


# ---------------------------------------------------------------- the other records


def test_log_entry_round_trip() -> None:
    entry = LogEntry(namespace="n", flow_id="f", execution_id="ex1", level="ERROR",
                     message="boom ☃", timestamp=at(1.5), task_run_id="tr1", task_id="t",
                     attempt=2, tenant_id="main", thread="worker-3")
    assert log_entry_from_record(trip("LogEntry", log_entry_record(entry))) == entry
    emitted = log_entry_of(cmd.EmitLog("ex1", None, None, "WARN", "flow warning", at(2)),
                           namespace="n", flow_id="f")
    back = log_entry_from_record(trip("LogEntry", log_entry_record(emitted)))
    assert back == emitted and back.task_run_id is None and back.attempt is None


def test_flow_round_trip() -> None:
    rev = FlowRevision(namespace="company.team", id="wire", revision=4, source=FLOW,
                       updated=at(9), tenant_id=None, deleted=True)
    assert flow_from_record(trip("Flow", flow_record(rev))) == rev
    assert rev.key == flow_key(None, "company.team", "wire", 4) == "/company.team/wire/4"


def test_trigger_event_round_trip() -> None:
    event = TriggerEvent(namespace="n", flow_id="f", at=at(3), inputs={"a": [1, {"b": None}]},
                         labels={"source": "crm"}, tenant_id="t1", dedup_key="order-42")
    assert trigger_event_from_record(trip("TriggerEvent", trigger_event_record(event))) == event
    assert event.key == trigger_key("t1", "n", "f") == "t1/n/f"


def test_dead_letter_round_trip() -> None:
    letter = DeadLetter(topic="ostinato.executor", partition=3, offset=2**40, key="ex1",
                        value=b"\xc3\x01garbage\x00\xff", reason="unknown schema", at=at(4))
    assert dead_letter_from_record(trip("DeadLetter", dead_letter_record(letter))) == letter
    tomb = DeadLetter("t", 0, 0, None, None, "tombstone", at(0))
    assert dead_letter_from_record(trip("DeadLetter", dead_letter_record(tomb))) == tomb


def test_labels_are_strings_as_in_kestra() -> None:
    from ostinato.decider import events as ev

    event = ev.ExecutionRequested(id="e", at=at(0), execution_id="x", namespace="n",
                                  flow_id="f", flow_revision=1,
                                  labels={"s": "text", "n": 1, "b": True})
    back = record_to_event(*("ExecutionRequested", trip(*event_to_record(event))))
    assert isinstance(back, ev.ExecutionRequested)
    assert back.labels == {"s": "text", "n": "1", "b": "true"}


def test_dataclasses_are_plain() -> None:
    # the helpers' dataclasses convert to dicts (for logs and the API)
    assert asdict(TriggerEvent(namespace="n", flow_id="f", at=at(0)))["flow_id"] == "f"


def test_a_foreach_values_stay_out_of_what_executions_carries() -> None:
    ex = execution()
    ex.task_run_list[2].progress = TaskRunProgress.from_dict(
        {"values": [f"v{i}" for i in range(500)], "ended": 7})
    internal = trip("TaskRun", task_run_records(ex, ["tr2"])[0])
    assert json.loads(internal["progressJson"])["values"][499] == "v499", "the changelog keeps them"
    update = trip("ExecutionUpdate", execution_update_record(ex, ["tr2", "tr3"]))
    published = {r["id"]: json.loads(r["progressJson"]) for r in update["taskRuns"]}
    assert published["tr2"] == {"ended": 7}, "the counters go out, the values do not"
    assert published["tr3"] == ex.task_run_list[3].progress.to_dict()
    full = trip("Execution", execution_record(ex, internal=False))
    assert json.loads(full["taskRunList"][2]["progressJson"]) == {"ended": 7}
    whole = trip("Execution", execution_record(ex))
    assert len(json.dumps(full, default=str)) < len(json.dumps(whole, default=str)) - 3000
    seeded = event_to_record(ev.ExecutionSeeded("e", at(0), "ex2", source=ex, from_task_run_id="tr2"))[1]
    assert "v499" in seeded["source"]["taskRunList"][2]["progressJson"], "a replay's seed keeps them"
