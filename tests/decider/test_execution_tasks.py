"""Issue 11 task types through the decider and the in-process driver, with flows from
Kestra's documentation and plugin examples: execution.Labels, Exit, Assert, flow.LoopUntil
(and WaitFor), TemplatedTask, Echo, Template (refused), and the `tasks` variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ostinato.decider import commands as cmd
from ostinato.execution.states import StateType
from ostinato.flow.errors import FlowValidationError
from ostinato.flow.parser import parse_flow
from ostinato.inprocess import InProcessRunner

from tests.decider.helpers import task_ids

# Labels' own example (Labels.java), a webhook trigger giving the body
LABELS_EXAMPLE = """
id: webhook_based_labels
namespace: company.team
tasks:
  - id: update_labels_with_map
    type: io.kestra.plugin.core.execution.Labels
    labels:
      customerId: "{{ trigger.body.customerId }}"
  - id: by_list
    type: io.kestra.plugin.core.execution.Labels
    labels:
      - key: order_id
        value: "{{ trigger.body.orderId }}"
      - key: order_type
        value: "{{ trigger.body.orderType }}"
triggers:
  - id: webhook
    key: order_webhook
    type: io.kestra.plugin.core.trigger.Webhook
    conditions:
      - type: io.kestra.plugin.core.condition.ExpressionCondition
        expression: "{{ trigger.body.customerId is defined and trigger.body.orderId is defined and trigger.body.orderType is defined }}"
"""

# Exit's own example (Exit.java)
EXIT_EXAMPLE = """
id: exit
namespace: company.team
inputs:
  - id: state
    type: SELECT
    values:
      - CONTINUE
      - END
    defaults: CONTINUE
tasks:
  - id: if
    type: io.kestra.plugin.core.flow.If
    condition: "{{inputs.state == 'CONTINUE'}}"
    then:
      - id: hello
        type: io.kestra.plugin.core.log.Log
        message: I'm continuing
    else:
      - id: exit
        type: io.kestra.plugin.core.execution.Exit
        state: KILLED
  - id: end
    type: io.kestra.plugin.core.log.Log
    message: I'm ending
"""

# LoopUntil's own example (LoopUntil.java)
LOOP_EXAMPLE = """
id: loop_until
namespace: company.team
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.LoopUntil
    condition: "{{ outputs.return.value == '4' }}"
    tasks:
      - id: return
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.loop.iterationCount }}"
"""

# Assert's own example (Assert.java)
ASSERT_EXAMPLE = """
id: assert
namespace: company.team
inputs:
  - id: param
    type: STRING
    required: true
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{ inputs.param == 'ok' }}"
      - "{{ 1 + 1 == 3 }}"
"""

# Echo's own example (Echo.java)
ECHO_EXAMPLE = """
id: echo_flow
namespace: company.team
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Echo
    level: WARN
    format: "{{ task.id }} > {{ taskrun.startDate }}"
"""

# TemplatedTask's example (TemplatedTask.java and its test): the spec's type is an input
TEMPLATED = """
id: templated
namespace: company.team
inputs:
  - id: type
    type: STRING
    defaults: io.kestra.plugin.core.debug.Return
tasks:
  - id: template
    type: io.kestra.plugin.core.templating.TemplatedTask
    spec: |
      type: {{ inputs.type }}
      format: It's alive!
"""


def _runner(tmp_path: Path) -> InProcessRunner:
    return InProcessRunner(storage_dir=tmp_path / "storage")


def test_labels_from_a_map_and_a_list_are_added_to_the_execution(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy(LABELS_EXAMPLE)
    body = {"customerId": "c-1", "orderId": "o-2", "orderType": "express"}
    execution = runner.run(flow, {}, trigger={"id": "webhook", "variables": {"body": body}})
    assert execution.state.current is StateType.SUCCESS
    assert {k: execution.labels[k] for k in ("customerId", "order_id", "order_type")} == {
        "customerId": "c-1", "order_id": "o-2", "order_type": "express"}
    assert all(not run.attempts or run.attempts[-1].state.current is StateType.SUCCESS
               for run in execution.task_run_list)


def test_a_system_label_is_refused_with_kestras_message(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy("""
id: sys
namespace: company.team
tasks:
  - id: labels
    type: io.kestra.plugin.core.execution.Labels
    labels:
      system.readOnly: "true"
""")
    execution = runner.run(flow)
    assert execution.state.current is StateType.FAILED
    assert "system.readOnly" not in execution.labels
    messages = [line.message for line in runner.logs_of(execution.id) if line.level == "ERROR"]
    assert messages == ["System labels can only be set by Kestra itself, offending label: "
                        "system.readOnly=true"]


def test_a_label_with_a_control_character_is_refused_naming_it(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy("""
id: crlf
namespace: company.team
tasks:
  - id: labels
    type: io.kestra.plugin.core.execution.Labels
    labels:
      team: "a\\r\\nSet-Cookie: x"
""")
    execution = runner.run(flow)
    assert execution.state.current is StateType.FAILED
    assert "team" not in execution.labels
    errors = [line.message for line in runner.logs_of(execution.id) if line.level == "ERROR"]
    assert errors == ["label `team`: the value contains the control character U+000D"]


def test_exit_killed_kills_the_execution_and_what_follows_never_runs(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy(EXIT_EXAMPLE)
    ended = runner.run(flow, {"state": "END"})
    assert ended.state.current is StateType.KILLED
    assert task_ids(ended) == ["if", "exit"]
    assert [run.state.current for run in ended.task_run_list] == [StateType.KILLED] * 2
    going_on = runner.run(flow, {"state": "CONTINUE"})
    assert going_on.state.current is StateType.SUCCESS
    assert task_ids(going_on) == ["if", "hello", "end"]


def test_exit_stops_a_running_sibling_and_ends_in_its_state(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy("""
id: exit_parallel
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: slow
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1M
      - id: exit
        type: io.kestra.plugin.core.execution.Exit
        state: FAILED
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: never
""")
    execution = runner.run(flow)
    assert execution.state.current is StateType.FAILED
    states = {run.task_id: run.state.current for run in execution.task_run_list}
    assert states == {"parallel": StateType.FAILED, "slow": StateType.KILLED, "exit": StateType.FAILED}


def test_exit_asks_the_worker_to_stop_the_running_attempt() -> None:
    from ostinato.decider import decide
    from ostinato.decider import events as ev

    flow = parse_flow("""
id: exit_parallel
namespace: company.team
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: slow
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1M
      - id: exit
        type: io.kestra.plugin.core.execution.Exit
        state: CANCELED
""")
    from datetime import datetime, timezone

    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    decision = decide(flow, None, ev.ExecutionRequested("e1", at, "x1", flow.namespace, flow.id, 1))
    assert decision.execution is not None
    assert decision.execution.state.current is StateType.CANCELLED
    kinds = [type(c).__name__ for c in decision.commands]
    assert "RunTask" in kinds and "KillTask" in kinds
    kill = next(c for c in decision.commands if isinstance(c, cmd.KillTask))
    assert decision.execution.run(kill.task_run_id).task_id == "slow"


def test_loop_until_runs_its_tasks_again_every_interval_until_the_condition(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy(LOOP_EXAMPLE)
    execution = runner.run(flow)
    assert execution.state.current is StateType.SUCCESS
    assert [run.outputs for run in execution.runs_of("return")] == [
        {"value": str(n)} for n in (1, 2, 3, 4)]
    loop = execution.runs_of("loop")[0]
    assert loop.outputs == {"iterationCount": 4}
    # three waits of the default interval (one minute) between the four iterations
    started, ended = (_instant(loop.state.histories[0].date), _instant(loop.state.histories[-1].date))
    assert ended - started >= timedelta(minutes=3)
    assert loop.state.count(StateType.PAUSED) == 3


def test_wait_for_is_loop_until_and_fails_on_its_maximum(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy("""
id: waitfor
namespace: company.team
tasks:
  - id: waitfor
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ false }}"
    failOnMaxReached: true
    checkFrequency:
      maxIterations: 2
      interval: PT1S
    tasks:
      - id: step
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.waitfor.iterationCount }}"
""")
    execution = runner.run(flow)
    assert execution.state.current is StateType.FAILED
    assert len(execution.runs_of("step")) == 2
    assert [line.message for line in runner.logs_of(execution.id) if line.level == "WARN"] == [
        "Max iterations reached"]


def test_a_killed_loop_stops_waiting(tmp_path: Path) -> None:
    from ostinato.decider import events as ev

    runner = _runner(tmp_path)
    flow = runner.deploy(LOOP_EXAMPLE)
    execution_id = runner.start(flow)
    runner.run_until_idle(until=lambda: runner.executions.get(execution_id) is not None
                          and runner.executions[execution_id].state.current is StateType.PAUSED)
    runner.send(lambda event_id, at: ev.Kill(event_id, at, execution_id))
    runner.run_until_idle()
    execution = runner.executions[execution_id]
    assert execution.state.current is StateType.KILLED
    assert execution.timers == {}
    assert len(execution.runs_of("return")) == 1


def test_assert_fails_naming_each_failed_condition(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy(ASSERT_EXAMPLE)
    execution = runner.run(flow, {"param": "ok"})
    assert execution.state.current is StateType.FAILED
    errors = [line.message for line in runner.logs_of(execution.id) if line.level == "ERROR"]
    assert errors == ["Assertion `{{ 1 + 1 == 3 }}` failed!", "1 assertion failed!"]
    metrics = {m["name"]: m["value"] for m in execution.task_run_list[0].attempts[0].metrics}
    assert metrics == {"success": 1, "failed": 1}


def test_echo_logs_its_format_at_its_level(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    execution = runner.run(runner.deploy(ECHO_EXAMPLE))
    assert execution.state.current is StateType.SUCCESS
    lines = [(line.level, line.message) for line in runner.logs_of(execution.id)]
    start = execution.task_run_list[0].state.start_date
    assert lines == [("WARN", f"echo > {start}")]


def test_a_templated_task_runs_the_task_its_spec_renders_to(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy(TEMPLATED)
    execution = runner.run(flow)
    assert execution.state.current is StateType.SUCCESS
    assert execution.task_outputs["template"] == {"value": "It's alive!"}
    refused = runner.run(flow, {"type": "io.kestra.plugin.core.flow.Pause"})
    assert refused.state.current is StateType.FAILED
    assert "The templated task must be a runnable task" in [
        line.message for line in runner.logs_of(refused.id)]


def test_a_template_task_is_refused_naming_subflow() -> None:
    with pytest.raises(FlowValidationError) as refused:
        parse_flow("""
id: template
namespace: company.team
tasks:
  - id: 2_template
    type: io.kestra.plugin.core.flow.Template
    namespace: company.team
    templateId: template
""")
    assert "io.kestra.plugin.core.flow.Subflow" in str(refused.value)
    assert "line 5" in str(refused.value)


def test_tasks_variable_gives_each_task_runs_state(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    flow = runner.deploy("""
id: states
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.execution.Fail
        allowFailure: true
        condition: "{{ taskrun.value == 'b' }}"
  - id: report
    type: io.kestra.plugin.core.debug.Return
    format: "{{ tasks.each.state }} {{ tasks.inner['a'].state }} {{ tasks.inner.b.state }}"
errors: []
""")
    execution = runner.run(flow)
    assert execution.task_outputs["report"] == {"value": "WARNING SUCCESS WARNING"}


def test_a_flow_that_never_reads_tasks_does_not_get_it() -> None:
    from datetime import datetime, timezone

    from ostinato.decider import Settings
    from ostinato.decider.context import base_context
    from ostinato.execution.model import Execution, State

    flow = parse_flow(ECHO_EXAMPLE)
    execution = Execution("x", flow.namespace, flow.id, 1, State())
    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert "tasks" not in base_context(flow, execution, Settings(), at)
    reading = parse_flow(ECHO_EXAMPLE.replace("{{ task.id }}", "{{ tasks.echo.state }}"))
    assert base_context(reading, execution, Settings(), at)["tasks"] == {}


def _instant(text: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
