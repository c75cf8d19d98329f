"""The one interpreter of decisions (ostinato/interpret.py), through the in-process driver
that uses it like the executor: parent wiring, refusals, the admission notice."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from ostinato import interpret
from ostinato.decider import Decision
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution import StateType
from ostinato.execution.model import Execution, State
from ostinato.flow.parser import parse_flow
from ostinato.inprocess import InProcessRunner

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)

PARENT = """
id: parent
namespace: tests.interpret
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: tests.interpret
    flowId: {child}
    inputs:
      count: "{count}"
"""
CHILD = """
id: child
namespace: tests.interpret
inputs:
  - id: count
    type: INT
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.count }}"
outputs:
  - id: echoed
    type: STRING
    value: "{{ outputs.echo.value }}"
"""


def run_parent(tmp_path: Path, child: str, count: str) -> tuple[InProcessRunner, Execution]:
    runner = InProcessRunner(storage_dir=tmp_path / "storage")
    runner.deploy(CHILD)
    parent = runner.deploy(PARENT.format(child=child, count=count))
    return runner, runner.run(parent)


def children(runner: InProcessRunner) -> list[Execution]:
    return [e for e in runner.executions.values() if e.parent_id is not None]


def test_a_child_is_linked_to_its_parent_by_metadata_and_reports_its_outputs(tmp_path: Path) -> None:
    runner, parent = run_parent(tmp_path, "child", "3")
    assert parent.state.current == StateType.SUCCESS
    child, = children(runner)
    run = parent.runs_of("call")[0]
    assert child.metadata[interpret.PARENT_TASK_RUN] == run.id
    assert interpret.TYPE_INPUTS not in child.metadata
    assert child.inputs == {"count": 3}, "typed where the child's flow is known"


def test_a_child_of_an_unknown_flow_is_refused_and_its_parent_task_run_says_why(tmp_path: Path) -> None:
    runner, parent = run_parent(tmp_path, "no-such-flow", "3")
    assert parent.state.current == StateType.FAILED
    child, = children(runner)
    assert child.state.current == StateType.FAILED and child.task_run_list == []
    reason = "Unable to find flow `tests.interpret.no-such-flow` revision 1: it is not known"
    assert [line.message for line in runner.logs_of(child.id)] == [reason]
    run = parent.runs_of("call")[0]
    assert reason in [line.message for line in runner.logs_of(parent.id) if line.task_run_id == run.id]


def test_a_child_with_invalid_inputs_is_refused_naming_the_input(tmp_path: Path) -> None:
    runner, parent = run_parent(tmp_path, "child", "not-a-number")
    assert parent.state.current == StateType.FAILED
    child, = children(runner)
    assert child.state.current == StateType.FAILED
    message, = [line.message for line in runner.logs_of(child.id)]
    assert message.startswith("Invalid inputs for") and "count" in message


def test_a_finished_child_owes_a_waiting_parent_its_result_and_nothing_otherwise() -> None:
    child = Execution(id="c1", namespace="n", flow_id="f", flow_revision=1, tenant_id=None,
                      state=State.created(AT), parent_id="p1",
                      metadata={interpret.PARENT_TASK_RUN: "tr1", interpret.PARENT_ATTEMPT: 2})
    child.state.move(StateType.SUCCESS, AT)
    event = ev.Kill("k1", AT, "c1")
    result = interpret.parent_result(child, event, "r1")
    assert result is not None
    assert (result.execution_id, result.task_run_id, result.attempt) == ("p1", "tr1", 2)
    child.metadata[interpret.PARENT_WAITS] = False
    assert interpret.parent_result(child, event, "r2") is None


def test_effects_follow_the_commands_in_order() -> None:
    flow = parse_flow(CHILD)
    execution = Execution(id="e1", namespace="n", flow_id="f", flow_revision=1, tenant_id=None,
                          state=State.created(AT))
    log = cmd.EmitLog("e1", None, None, "INFO", "hello", AT)
    start = cmd.StartSubflow("e1", "tr1", 1, "c1", "n", "child", None, {}, {}, {}, True)
    ids = iter(["id-1", "id-2"])
    effects = interpret.effects_of(Decision(execution, [log, start, cmd.KillTask("e1", "tr0")]),
                                   ev.Kill("k", AT, "e1"), flow, was_finished=False,
                                   new_id=lambda: next(ids), revision_of=lambda c, p: 7)
    assert [type(e) for e in effects] == [interpret.Log, interpret.ToExecutor, interpret.StopTask]
    request = effects[1].event  # type: ignore[union-attr]
    assert isinstance(request, ev.ExecutionRequested)
    assert (request.id, request.flow_revision, request.parent_id) == ("id-1", 7, "e1")
    assert request.metadata[interpret.TYPE_INPUTS] is True
