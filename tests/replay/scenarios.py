"""The scenarios whose event logs are recorded under `tests/replay/logs/`.

Each one runs its flows in the in-process runner (virtual clock, inline workers), drives
it (resume, kill ...) and checks that it reached the end its name promises: `expect` maps
each execution id to its final state and `check` looks at anything else that matters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.inprocess import InProcessRunner

NS = "io.kestra.replay"
Drive = Callable[[InProcessRunner, list[Flow]], None]
Check = Callable[[dict[str, Execution]], None]


def _run_first(runner: InProcessRunner, flows: list[Flow]) -> None:
    runner.run(flows[0])


def _nothing(executions: dict[str, Execution]) -> None:
    return None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    #: the first flow is the one started; the others are deployed (subflows)
    flows: list[str]
    expect: dict[str, str]
    drive: Drive = _run_first
    check: Check = _nothing
    inputs: dict[str, object] = field(default_factory=dict)


def _task_ids(execution: Execution) -> list[str]:
    return [run.task_id for run in execution.task_run_list]


def _states(execution: Execution) -> dict[str, str]:
    return {run.task_id: run.state.current for run in execution.task_run_list}


# ---------------------------------------------------------------- drivers

def _resume_when_paused(runner: InProcessRunner, flows: list[Flow]) -> None:
    execution_id = runner.start(flows[0])

    def waiting_for_a_resume() -> bool:
        execution = runner.executions.get(execution_id)
        return execution is not None and any(
            run.task_id == "approve" and run.state.current == "PAUSED"
            for run in execution.task_run_list)

    runner.run_until_idle(until=waiting_for_a_resume)
    assert waiting_for_a_resume(), "the execution never paused at `approve`"
    runner.send(lambda event_id, at: ev.Resume(event_id, at, execution_id,
                                               inputs={"comment": "looks good"}))
    runner.run_until_idle()


def _kill_when_paused(runner: InProcessRunner, flows: list[Flow]) -> None:
    execution_id = runner.start(flows[0])

    def paused() -> bool:
        execution = runner.executions.get(execution_id)
        return execution is not None and execution.state.current == "PAUSED"

    runner.run_until_idle(until=paused)
    assert paused(), "the execution never paused"
    runner.send(lambda event_id, at: ev.Kill(event_id, at, execution_id))
    runner.run_until_idle()


# ---------------------------------------------------------------- checks

def _check_switch(executions: dict[str, Execution]) -> None:
    assert _task_ids(executions["exec1"]) == ["route", "express", "after"]


def _check_if(executions: dict[str, Execution]) -> None:
    assert _task_ids(executions["exec1"]) == ["big", "yes", "small", "no"]


def _check_foreach(executions: dict[str, Execution]) -> None:
    execution = executions["exec1"]
    assert execution.task_outputs["square"] == {
        str(n): {"value": f"item {n}"} for n in range(1, 5)}


def _check_each_parallel(executions: dict[str, Execution]) -> None:
    assert len(executions["exec1"].runs_of("shout")) == 3


def _check_dag(executions: dict[str, Execution]) -> None:
    ids = _task_ids(executions["exec1"])
    assert ids.index("join") > max(ids.index("left"), ids.index("right"))


def _check_errors(executions: dict[str, Execution]) -> None:
    states = _states(executions["exec1"])
    assert states["tolerated"] == "WARNING" and states["boom"] == "FAILED"
    assert states["on-error"] == "SUCCESS" and states["always"] == "SUCCESS"


def _check_retries(executions: dict[str, Execution]) -> None:
    (flaky,) = executions["exec1"].runs_of("flaky")
    assert [a.state.current for a in flaky.attempts] == ["FAILED", "FAILED", "SUCCESS"]


def _check_pause(executions: dict[str, Execution]) -> None:
    execution = executions["exec1"]
    assert execution.task_outputs["approve"]["onResume"] == {"comment": "looks good"}
    assert execution.task_outputs["after"]["value"] == "looks good"


def _check_kill(executions: dict[str, Execution]) -> None:
    assert _states(executions["exec1"])["wait"] == "KILLED"


def _others(executions: dict[str, Execution]) -> list[Execution]:
    return [execution for key, execution in executions.items() if key != "exec1"]


def _check_subflow(executions: dict[str, Execution]) -> None:
    parent = executions["exec1"]
    assert parent.task_outputs["call"]["outputs"] == {"greeting": "hello replay"}
    (child,) = _others(executions)
    assert child.state.current == "SUCCESS" and child.outputs == {"greeting": "hello replay"}


def _check_random(executions: dict[str, Execution]) -> None:
    execution = executions["exec1"]
    values = [run.value for run in execution.runs_of("echo")]
    assert len(set(values)) == 3, values
    assert execution.outputs is not None and len(execution.outputs["token"]) == 36
    (child,) = _others(executions)
    assert child.state.current == "SUCCESS"
    assert child.task_outputs["got"]["value"] == child.inputs["token"]
    assert len(child.inputs["token"]) == 36


def _check_new_execution(executions: dict[str, Execution]) -> None:
    retried = executions["exec1"]
    (again,) = _others(executions)
    assert again.state.current == "FAILED" and again.original_id == retried.id
    assert again.metadata.get("attemptNumber") == 2


# ---------------------------------------------------------------- flows

def _flow(flow_id: str, body: str) -> str:
    return f"id: {flow_id}\nnamespace: {NS}\n{body.strip(chr(10))}\n"


SCENARIOS: list[Scenario] = [
    Scenario("sequential", "Sequential blocks run in order; a later task reads an earlier output", [_flow("sequential", """
tasks:
  - id: block
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: first
        type: io.kestra.plugin.core.debug.Return
        format: one
      - id: second
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.first.value }}-two"
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.second.value }}-three"
""")], {"exec1": "SUCCESS"}),
    Scenario("parallel", "Parallel with concurrent: 2 over three tasks", [_flow("parallel", """
tasks:
  - id: fan
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: 2
    tasks:
      - id: a
        type: io.kestra.plugin.core.debug.Return
        format: a
      - id: b
        type: io.kestra.plugin.core.debug.Return
        format: b
      - id: c
        type: io.kestra.plugin.core.debug.Return
        format: c
""")], {"exec1": "SUCCESS"}),
    Scenario("switch", "Switch on an input picks one case", [_flow("switch", """
inputs:
  - id: speed
    type: STRING
    defaults: fast
tasks:
  - id: route
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.speed }}"
    cases:
      fast:
        - id: express
          type: io.kestra.plugin.core.debug.Return
          format: express
      slow:
        - id: standard
          type: io.kestra.plugin.core.debug.Return
          format: standard
    defaults:
      - id: fallback
        type: io.kestra.plugin.core.debug.Return
        format: fallback
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.express.value ?? 'none' }}"
""")], {"exec1": "SUCCESS"}, check=_check_switch),
    Scenario("if", "If takes `then` on a true condition and `else` on a false one", [_flow("if", """
tasks:
  - id: big
    type: io.kestra.plugin.core.flow.If
    condition: "{{ 3 > 2 }}"
    then:
      - id: "yes"
        type: io.kestra.plugin.core.debug.Return
        format: bigger
  - id: small
    type: io.kestra.plugin.core.flow.If
    condition: "{{ 1 > 2 }}"
    then:
      - id: never
        type: io.kestra.plugin.core.debug.Return
        format: never
    else:
      - id: "no"
        type: io.kestra.plugin.core.debug.Return
        format: smaller
""")], {"exec1": "SUCCESS"}, check=_check_if),
    Scenario("foreach", "ForEach over four values with concurrencyLimit: 2", [_flow("foreach", """
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3, 4]
    concurrencyLimit: 2
    tasks:
      - id: square
        type: io.kestra.plugin.core.debug.Return
        format: "item {{ taskrun.value }}"
""")], {"exec1": "SUCCESS"}, check=_check_foreach),
    Scenario("each_parallel", "EachParallel over three values", [_flow("each-parallel", """
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.EachParallel
    value: ["x", "y", "z"]
    tasks:
      - id: shout
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value | upper }}"
""")], {"exec1": "SUCCESS"}, check=_check_each_parallel),
    Scenario("dag", "Dag: a diamond of dependencies", [_flow("dag", """
tasks:
  - id: graph
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: start
          type: io.kestra.plugin.core.debug.Return
          format: start
      - task:
          id: left
          type: io.kestra.plugin.core.debug.Return
          format: left
        dependsOn: [start]
      - task:
          id: right
          type: io.kestra.plugin.core.debug.Return
          format: right
        dependsOn: [start]
      - task:
          id: join
          type: io.kestra.plugin.core.debug.Return
          format: "{{ outputs.left.value }}+{{ outputs.right.value }}"
        dependsOn: [left, right]
""")], {"exec1": "SUCCESS"}, check=_check_dag),
    Scenario("errors_finally", "AllowFailure tolerates a failure; a later failure runs errors then finally", [_flow("errors-finally", """
tasks:
  - id: tolerated
    type: io.kestra.plugin.core.flow.AllowFailure
    tasks:
      - id: soft
        type: io.kestra.plugin.core.execution.Fail
        errorMessage: tolerated failure
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: real failure
errors:
  - id: on-error
    type: io.kestra.plugin.core.log.Log
    message: "handling {{ errorLogs()[0].message ?? 'nothing' }}"
finally:
  - id: always
    type: io.kestra.plugin.core.debug.Return
    format: cleanup
""")], {"exec1": "FAILED"}, check=_check_errors),
    Scenario("retries", "A constant retry: two failed attempts, the third succeeds", [_flow("retries", """
tasks:
  - id: flaky
    type: io.kestra.plugin.core.debug.Return
    format: "{{ taskrun.attemptsCount >= 2 ? 'ok' : missing }}"
    retry:
      type: constant
      interval: PT5S
      maxAttempt: 3
""")], {"exec1": "SUCCESS"}, check=_check_retries),
    Scenario("pause_resume", "A Pause with a delay resumes by its timer, one without by a Resume", [_flow("pause-resume", """
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    delay: PT10S
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: comment
        type: STRING
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.approve.onResume.comment }}"
""")], {"exec1": "SUCCESS"}, drive=_resume_when_paused, check=_check_pause),
    Scenario("kill", "A Kill of a paused execution", [_flow("kill", """
tasks:
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: before
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: never
""")], {"exec1": "KILLED"}, drive=_kill_when_paused, check=_check_kill),
    Scenario("subflow", "A parent waits for a child execution and renders its outputs", [
        _flow("parent", """
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: io.kestra.replay
    flowId: child
    inputs:
      name: replay
    outputs:
      greeting: "{{ outputs.hello.value }}"
"""),
        _flow("child", """
inputs:
  - id: name
    type: STRING
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "hello {{ inputs.name }}"
outputs:
  - id: greeting
    type: STRING
    value: "{{ outputs.hello.value }}"
"""),
    ], {"exec1": "SUCCESS"}, check=_check_subflow),
    Scenario("random_functions", "uuid(), randomInt() and now() in the decider's own renders", [
        _flow("random", """
tasks:
  - id: maybe
    type: io.kestra.plugin.core.debug.Return
    runIf: "{{ randomInt(0, 2) >= 0 }}"
    format: "{{ uuid() }}"
  - id: pick
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ randomInt(0, 3) }}"
    cases:
      "0":
        - id: zero
          type: io.kestra.plugin.core.debug.Return
          format: zero
      "1":
        - id: one
          type: io.kestra.plugin.core.debug.Return
          format: one
      "2":
        - id: two
          type: io.kestra.plugin.core.debug.Return
          format: two
  - id: coin
    type: io.kestra.plugin.core.flow.If
    condition: "{{ uuid() > '8' }}"
    then:
      - id: heads
        type: io.kestra.plugin.core.debug.Return
        format: heads
    else:
      - id: tails
        type: io.kestra.plugin.core.debug.Return
        format: tails
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ [uuid(), uuid(), randomInt(0, 1000000)] }}"
    tasks:
      - id: echo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: io.kestra.replay
    flowId: random-child
    inputs:
      token: "{{ uuid() }}"
outputs:
  - id: token
    type: STRING
    value: "{{ uuid() }}"
  - id: at
    type: STRING
    value: "{{ now() }}"
"""),
        _flow("random-child", """
inputs:
  - id: token
    type: STRING
tasks:
  - id: got
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.token }}"
"""),
    ], {"exec1": "SUCCESS"}, check=_check_random),
    Scenario("create_new_execution", "A failed execution is RETRIED as a new execution", [
        _flow("new-execution", """
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: always fails
    retry:
      type: constant
      interval: PT30S
      maxAttempt: 2
      behavior: CREATE_NEW_EXECUTION
"""),
    ], {"exec1": "RETRIED"}, check=_check_new_execution),
]
