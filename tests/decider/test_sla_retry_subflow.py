"""Issue 11: a flow's SLA made real in the decider, retry `maxDuration` counted from the
first attempt's start, and Subflow outputs that are the child flow's declared outputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from ostinato.decider import decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.execution.states import StateType
from ostinato.flow.parser import parse_flow
from ostinato.inprocess import InProcessRunner
from ostinato.protocol import commands as cmd

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

# the SLA page of Kestra's documentation (workflow-components/sla)
SLA_EXAMPLE = """
id: sla_example
namespace: company.team
sla:
  - id: maxDuration
    type: MAX_DURATION
    duration: PT8H
    behavior: CANCEL
    labels:
      sla: miss
      reason: durationExceeded
tasks:
  - id: punctual
    type: io.kestra.plugin.core.log.Log
    message: Workflow started, monitoring SLA compliance
  - id: sleepyhead
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT9H
  - id: never_executed_task
    type: io.kestra.plugin.core.log.Log
    message: This task will never start because the SLA was breached
"""

# the same page's EXECUTION_ASSERTION example
ASSERTION_EXAMPLE = """
id: sla_demo
namespace: company.team
sla:
  - id: assert_output
    type: EXECUTION_ASSERTION
    assert: "{{ outputs.mytask.value == 'expected output' }}"
    behavior: FAIL
    labels:
      sla: miss
      reason: outputMismatch
tasks:
  - id: mytask
    type: io.kestra.plugin.core.debug.Return
    format: expected output
"""
UNEXPECTED = ASSERTION_EXAMPLE.replace("format: expected output", "format: something else") + """
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: done
"""

# the Subflow-outputs migration guide (0.15): the child declares outputs, the parent reads them
CHILD = """
id: flow_outputs
namespace: company.team
tasks:
  - id: mytask
    type: io.kestra.plugin.core.debug.Return
    format: this is a task output used as a final flow output
outputs:
  - id: final
    type: STRING
    value: "{{ outputs.mytask.value }}"
"""
PARENT = """
id: parent_flow
namespace: company.team
tasks:
  - id: subflow
    type: io.kestra.plugin.core.flow.Subflow
    flowId: flow_outputs
    namespace: company.team
    wait: true
  - id: log_subflow_output
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.subflow.outputs.final }}"
"""


def _runner(tmp_path: Path) -> InProcessRunner:
    return InProcessRunner(storage_dir=tmp_path / "storage")


def test_max_duration_cancels_adds_its_labels_and_stops_what_runs(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    execution = runner.run(runner.deploy(SLA_EXAMPLE))
    assert execution.state.current is StateType.CANCELLED
    assert execution.labels["sla"] == "miss" and execution.labels["reason"] == "durationExceeded"
    assert [run.task_id for run in execution.task_run_list] == ["punctual", "sleepyhead"]
    assert execution.runs_of("sleepyhead")[0].state.current is StateType.CANCELLED
    warnings = [line.message for line in runner.logs_of(execution.id) if line.level == "WARN"]
    assert warnings == ["SLA 'maxDuration' violated: execution duration of PT9H exceed the "
                        "maximum duration of PT8H."]


def test_max_duration_is_a_timer_from_the_creation_cancelled_at_the_end() -> None:
    flow = parse_flow(SLA_EXAMPLE)
    decision = decide(flow, None, ev.ExecutionRequested("e1", T0, "x1", flow.namespace, flow.id, 1))
    timers = [c for c in decision.commands if isinstance(c, cmd.SetTimer)]
    assert [t.fire_at for t in timers] == [T0 + timedelta(hours=8)]


def test_execution_assertion_holds_for_the_documented_flow(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    execution = runner.run(runner.deploy(ASSERTION_EXAMPLE))
    assert execution.state.current is StateType.SUCCESS
    assert "sla" not in execution.labels
    assert not [line for line in runner.logs_of(execution.id) if "violated" in line.message]


def test_execution_assertion_fails_once_it_does_not_hold(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    failing = runner.run(runner.deploy(UNEXPECTED))
    assert failing.state.current is StateType.FAILED
    assert failing.labels["sla"] == "miss" and failing.labels["reason"] == "outputMismatch"
    # checked after each event: the task that started with mytask's end is stopped, FAILED
    assert {run.task_id: run.state.current for run in failing.task_run_list} == {
        "mytask": StateType.SUCCESS, "after": StateType.FAILED}
    errors = [line.message for line in runner.logs_of(failing.id) if line.level == "ERROR"]
    assert errors[-1] == ("Execution failed due to SLA 'assert_output' violated: assertion is "
                          "false: {{ outputs.mytask.value == 'expected output' }}.")


def test_a_none_sla_only_labels_and_reports_once(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    execution = runner.run(runner.deploy(UNEXPECTED.replace("behavior: FAIL", "behavior: NONE")))
    assert execution.state.current is StateType.SUCCESS
    assert execution.labels["sla"] == "miss"
    warnings = [line.message for line in runner.logs_of(execution.id) if "violated" in line.message]
    assert warnings == ["SLA 'assert_output' violated: assertion is false: "
                        "{{ outputs.mytask.value == 'expected output' }}."]


RETRIED = """
id: retried
namespace: company.team
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    retry:
      type: constant
      interval: PT10S
      maxDuration: PT30S
"""


def _apply(flow, execution: Execution | None, event: ev.Event):  # type: ignore[no-untyped-def]
    decision = decide(flow, execution, event)
    assert decision.execution is not None
    return decision


def test_retry_max_duration_counts_from_the_first_attempts_start() -> None:
    """A task picked up an hour after it was created still has its retries (Kestra counts
    maxDuration from the first attempt's start, not the task run's creation)."""
    flow = parse_flow(RETRIED)
    decision = _apply(flow, None, ev.ExecutionRequested("e1", T0, "x1", flow.namespace, flow.id, 1))
    execution = decision.execution
    run_task = next(c for c in decision.commands if isinstance(c, cmd.RunTask))
    late = T0 + timedelta(hours=1)
    for event_id, at, state in (("e2", late, "RUNNING"), ("e3", late + timedelta(seconds=1), "FAILED")):
        decision = _apply(flow, execution, ev.WorkerTaskResult(
            event_id, at, "x1", run_task.task_run_id, run_task.attempt, state))
    run = decision.execution.run(run_task.task_run_id)
    assert run.state.current is StateType.RETRYING
    assert [c.fire_at for c in decision.commands if isinstance(c, cmd.SetTimer)] == [
        late + timedelta(seconds=11)]


def test_retry_max_duration_still_ends_the_retries() -> None:
    flow = parse_flow(RETRIED)
    decision = _apply(flow, None, ev.ExecutionRequested("e1", T0, "x1", flow.namespace, flow.id, 1))
    execution = decision.execution
    run_task = next(c for c in decision.commands if isinstance(c, cmd.RunTask))
    for event_id, at, state in (("e2", T0, "RUNNING"), ("e3", T0 + timedelta(seconds=25), "FAILED")):
        decision = _apply(flow, execution, ev.WorkerTaskResult(
            event_id, at, "x1", run_task.task_run_id, run_task.attempt, state))
    assert decision.execution.state.current is StateType.FAILED


def test_subflow_outputs_are_the_child_flows_declared_outputs(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    runner.deploy(CHILD)
    parent = runner.run(runner.deploy(PARENT))
    assert parent.state.current is StateType.SUCCESS
    assert parent.task_outputs["subflow"]["outputs"] == {
        "final": "this is a task output used as a final flow output"}
    logged = [line.message for line in runner.logs_of(parent.id) if line.task_id == "log_subflow_output"]
    assert logged == ["this is a task output used as a final flow output"]


def test_the_deprecated_outputs_mapping_still_works_for_a_child_without_outputs(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    runner.deploy(CHILD.split("outputs:\n  - id: final")[0])
    parent = runner.run(runner.deploy(PARENT.replace("    wait: true\n", """    wait: true
    outputs:
      final: "{{ outputs.mytask.value }}"
""")))
    assert parent.task_outputs["subflow"]["outputs"] == {
        "final": "this is a task output used as a final flow output"}
