"""Issue 11 task types through the real services on the embedded broker, with flows from
Kestra's documentation and examples: Labels, Exit, Assert, LoopUntil/WaitFor,
TemplatedTask, Echo, the `tasks` variable, SLAs and Subflow outputs."""

from __future__ import annotations

import time

from ostinato.execution.states import StateType
from ostinato.harness import ServiceRunner


def _logged(bus: ServiceRunner, execution_id: str, text: str) -> list[str]:
    """Wait until a log line of the execution contains `text` (logs travel on their topic)."""
    def found() -> list[str]:
        return [line.message for line in bus.logs_of(execution_id) if text in line.message]

    return list(bus.wait_for(found, what=f"a log line with {text!r}", timeout=30))


def test_labels_change_the_running_executions_labels(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: labels-update
namespace: tests.issue11
labels:
  flowLabelKey: flowLabelValue
tasks:
  - id: update_labels_with_map
    type: io.kestra.plugin.core.execution.Labels
    labels:
      customerId: "{{ execution.id }}"
  - id: by_list
    type: io.kestra.plugin.core.execution.Labels
    labels:
      - key: order_type
        value: express
""")
    execution = bus.run(flow, timeout=60)
    assert execution.state.current is StateType.SUCCESS
    assert execution.labels["customerId"] == execution.id
    assert execution.labels["order_type"] == "express"
    assert execution.labels["flowLabelKey"] == "flowLabelValue"


def test_exit_killed_ends_the_execution_before_what_follows(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: exit-killed
namespace: tests.issue11
inputs:
  - id: state
    type: SELECT
    values:
      - CONTINUE
      - END
    defaults: END
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
""")
    execution = bus.run(flow, timeout=60)
    assert execution.state.current is StateType.KILLED
    assert [(r.task_id, r.state.current) for r in execution.task_run_list] == [
        ("if", StateType.KILLED), ("exit", StateType.KILLED)]


def test_exit_stops_a_sleeping_sibling_on_its_worker(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: exit-parallel
namespace: tests.issue11
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT60S
      - id: later
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: first
            type: io.kestra.plugin.core.log.Log
            message: before exiting
          - id: exit
            type: io.kestra.plugin.core.execution.Exit
            state: WARNING
""")
    started = time.monotonic()
    execution = bus.run(flow, timeout=60)
    assert time.monotonic() - started < 45  # not the 60 s of the sleep
    assert execution.state.current is StateType.WARNING
    states = {run.task_id: run.state.current for run in execution.task_run_list}
    assert states["exit"] is StateType.WARNING and states["later"] is StateType.WARNING
    assert states["nap"] is StateType.KILLED


def test_assert_fails_with_the_failed_conditions(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: assert
namespace: tests.issue11
tasks:
  - id: before
    type: io.kestra.plugin.core.output.OutputValues
    values:
      output1: xyz
      output2: abc
  - id: fail
    type: io.kestra.plugin.core.execution.Assert
    conditions:
      - "{{ 42 == 42 }}"
      - "{{ outputs.before.values.output1  == 'xyz' }}"
      - "{{ outputs.before.values.output2  == 'xyz' }}"
    errorMessage: output2 is not xyz
""")
    execution = bus.run(flow, timeout=60)
    assert execution.state.current is StateType.FAILED
    assert len(execution.task_run_list) == 2
    assert _logged(bus, execution.id, "1 assertion failed!") == ["1 assertion failed!\noutput2 is not xyz"]


def test_loop_until_and_wait_for_iterate_on_timers(bus: ServiceRunner) -> None:
    for kind in ("LoopUntil", "WaitFor"):
        flow = bus.deploy(f"""
id: loop-{kind.lower()}
namespace: tests.issue11
tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.{kind}
    condition: "{{{{ outputs.return.value == '3' }}}}"
    checkFrequency:
      interval: PT0.2S
    tasks:
      - id: return
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ outputs.loop.iterationCount }}}}"
""")
        execution = bus.run(flow, timeout=60)
        assert execution.state.current is StateType.SUCCESS, kind
        assert [run.outputs for run in execution.runs_of("return")] == [
            {"value": "1"}, {"value": "2"}, {"value": "3"}]
        assert execution.runs_of("loop")[0].outputs == {"iterationCount": 3}


def test_templated_task_echo_and_the_tasks_variable(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: templated
namespace: tests.issue11
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
  - id: echo
    type: io.kestra.plugin.core.debug.Echo
    level: WARN
    format: "{{ task.id }}: template is {{ tasks.template.state }}"
""")
    execution = bus.run(flow, timeout=60)
    assert execution.state.current is StateType.SUCCESS
    assert execution.runs_of("template")[0].outputs == {"value": "It's alive!"}
    assert _logged(bus, execution.id, "template is") == ["echo: template is SUCCESS"]


def test_sla_max_duration_fails_a_long_execution(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: sla-max-duration-fail
namespace: tests.issue11
sla:
  - id: maxDuration
    type: MAX_DURATION
    behavior: FAIL
    duration: PT0.5S
    labels:
      sla: miss
tasks:
  - id: sleep
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT20S
""")
    started = time.monotonic()
    execution = bus.run(flow, timeout=60)
    assert time.monotonic() - started < 15
    assert execution.state.current is StateType.FAILED
    assert execution.labels["sla"] == "miss"
    assert execution.runs_of("sleep")[0].state.current is StateType.FAILED
    _logged(bus, execution.id, "Execution failed due to SLA 'maxDuration' violated")


def test_sla_execution_assertion_cancels(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: sla-execution-condition
namespace: tests.issue11
inputs:
  - id: string
    type: SELECT
    values:
      - PASS
      - CANCEL
    defaults: PASS
sla:
  - id: condition
    type: EXECUTION_ASSERTION
    behavior: CANCEL
    assert: "{{inputs.string != 'CANCEL'}}"
tasks:
  - id: return
    type: io.kestra.plugin.core.debug.Return
    format: "true"
""")
    assert bus.run(flow, {"string": "PASS"}, timeout=60).state.current is StateType.SUCCESS
    assert bus.run(flow, {"string": "CANCEL"}, timeout=60).state.current is StateType.CANCELLED


def test_subflow_outputs_are_the_childs_flow_outputs(bus: ServiceRunner) -> None:
    bus.deploy("""
id: flow_outputs
namespace: tests.issue11
tasks:
  - id: mytask
    type: io.kestra.plugin.core.debug.Return
    format: this is a task output used as a final flow output
outputs:
  - id: final
    type: STRING
    value: "{{ outputs.mytask.value }}"
""")
    parent = bus.deploy("""
id: parent_flow
namespace: tests.issue11
tasks:
  - id: subflow
    type: io.kestra.plugin.core.flow.Subflow
    flowId: flow_outputs
    namespace: tests.issue11
    wait: true
  - id: log_subflow_output
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.subflow.outputs.final }}"
""")
    execution = bus.run(parent, timeout=60)
    assert execution.state.current is StateType.SUCCESS
    assert execution.runs_of("log_subflow_output")[0].outputs == {
        "value": "this is a task output used as a final flow output"}
