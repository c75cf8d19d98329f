"""Decider semantics beyond the corpus: limits, ordering, kill, resume, large fan-out."""

from __future__ import annotations

from pathlib import Path

from ostinato.decider import events as ev
from ostinato.inprocess import InProcessRunner

from tests.decider.helpers import run_flow, task_ids


def _max_concurrent(execution, task_id: str) -> int:
    """The most task runs of `task_id` that were running at the same moment (by event order)."""
    spans = []
    for run in execution.runs_of(task_id):
        dates = [h.date for h in run.state.histories]
        spans.append((dates[0], dates[-1]))
    return max(sum(1 for s, e in spans if s <= start < e or s == start) for start, _ in spans)


def test_foreach_over_2000_values_completes_with_one_run_per_value(tmp_path: Path) -> None:
    values = [f"v{i}" for i in range(2000)]
    _, execution = run_flow(tmp_path, f"""
id: big
namespace: io.kestra.tests
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: {values!r}
    concurrencyLimit: 0
    tasks:
      - id: step
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
""")
    assert execution.state.current == "SUCCESS"
    assert len(execution.task_run_list) == 2001
    assert execution.task_outputs["step"]["v1999"] == {"value": "v1999"}
    assert sorted(r.value for r in execution.runs_of("step")) == sorted(values)


def test_foreach_concurrency_limit_bounds_running_iterations(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy("""
id: limited
namespace: io.kestra.tests
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b", "c", "d", "e"]
    concurrencyLimit: 2
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT1S
""")
    peak = 0

    def watch(event: ev.Event) -> None:
        nonlocal peak
        execution = runner.executions.get(event.execution_id)
        if execution is not None:
            running = [r for r in execution.runs_of("nap") if not r.state.terminal]
            peak = max(peak, len(running))

    runner.on_event = watch
    execution = runner.run(flow)
    assert execution.state.current == "SUCCESS"
    assert len(execution.runs_of("nap")) == 5
    assert peak == 2


def test_parallel_starts_nothing_new_after_a_failure(tmp_path: Path) -> None:
    _, execution = run_flow(tmp_path, """
id: par
namespace: io.kestra.tests
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: 1
    tasks:
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
      - id: never
        type: io.kestra.plugin.core.debug.Return
        format: x
""")
    assert execution.state.current == "FAILED"
    assert task_ids(execution) == ["parallel", "boom"]


def test_dag_runs_each_task_after_its_dependencies(tmp_path: Path) -> None:
    _, execution = run_flow(tmp_path, """
id: dag
namespace: io.kestra.tests
tasks:
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: c, type: io.kestra.plugin.core.debug.Return, format: c}
        dependsOn: [a, b]
      - task: {id: a, type: io.kestra.plugin.core.debug.Return, format: a}
      - task: {id: b, type: io.kestra.plugin.core.debug.Return, format: b}
        dependsOn: [a]
""")
    assert execution.state.current == "SUCCESS"
    order = task_ids(execution)
    assert order.index("a") < order.index("b") < order.index("c")


def test_kill_ends_a_paused_execution_killed_and_runs_nothing_more(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy("""
id: killme
namespace: io.kestra.tests
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: never
""")
    execution_id = runner.start(flow)
    runner.run_until_idle()
    assert runner.executions[execution_id].state.current == "PAUSED"
    runner.send(lambda event_id, at: ev.Kill(event_id, at, execution_id))
    runner.run_until_idle()
    execution = runner.executions[execution_id]
    assert execution.state.current == "KILLED"
    assert [h.state for h in execution.state.histories][-2:] == ["KILLING", "KILLED"]
    assert task_ids(execution) == ["wait"]
    assert execution.runs_of("wait")[0].state.current == "KILLED"


def test_resume_passes_on_resume_inputs_to_later_tasks(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy("""
id: approve
namespace: io.kestra.tests
tasks:
  - id: approval
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: reason
        type: STRING
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.approval.onResume.reason }}"
""")
    execution_id = runner.start(flow)
    runner.run_until_idle()
    runner.send(lambda event_id, at: ev.Resume(event_id, at, execution_id, inputs={"reason": "ok by me"}))
    runner.run_until_idle()
    execution = runner.executions[execution_id]
    assert execution.state.current == "SUCCESS"
    assert execution.runs_of("after")[0].outputs == {"value": "ok by me"}


def test_allow_warning_turns_a_warning_into_success(tmp_path: Path) -> None:
    _, execution = run_flow(tmp_path, """
id: warn
namespace: io.kestra.tests
tasks:
  - id: block
    type: io.kestra.plugin.core.flow.AllowFailure
    allowWarning: true
    tasks:
      - id: boom
        type: io.kestra.plugin.core.execution.Fail
""")
    assert execution.runs_of("boom")[0].state.current == "FAILED"
    assert execution.runs_of("block")[0].state.current == "SUCCESS"
    assert execution.state.current == "SUCCESS"


def test_retry_attempts_wait_their_interval_on_the_clock(tmp_path: Path) -> None:
    runner, execution = run_flow(tmp_path, """
id: retries
namespace: io.kestra.tests
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    retry:
      type: constant
      interval: PT10S
      maxAttempt: 3
""")
    run = execution.runs_of("boom")[0]
    assert [a.state.current for a in run.attempts] == ["FAILED", "FAILED", "FAILED"]
    starts = [a.state.histories[0].date for a in run.attempts]
    assert starts[1] > starts[0] and starts[2] > starts[1]
    assert run.state.count("RETRYING") == 2


def test_killing_a_parent_kills_its_running_subflow_child(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    runner.deploy("""
id: child
namespace: io.kestra.tests
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
""")
    parent = runner.deploy("""
id: parent
namespace: io.kestra.tests
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: io.kestra.tests
    flowId: child
""")
    execution_id = runner.start(parent)
    runner.run_until_idle()
    children = runner.executions_of("io.kestra.tests", "child")
    assert [c.state.current for c in children] == ["PAUSED"]
    runner.send(lambda event_id, at: ev.Kill(event_id, at, execution_id))
    runner.run_until_idle()
    assert runner.executions[execution_id].state.current == "KILLED"
    assert runner.executions[children[0].id].state.current == "KILLED"


def test_restart_runs_the_failed_task_again_and_carries_on(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy("""
id: flaky-once
namespace: io.kestra.tests
tasks:
  - id: before
    type: io.kestra.plugin.core.debug.Return
    format: ok
  - id: block
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: flaky
        type: io.kestra.plugin.core.execution.Fail
        condition: "{{ taskrun.attemptsCount == 0 }}"
      - id: after
        type: io.kestra.plugin.core.debug.Return
        format: done
""")
    execution = runner.run(flow)
    assert execution.state.current == "FAILED"
    assert task_ids(execution) == ["before", "block", "flaky"]
    runner.send(lambda event_id, at: ev.Restart(event_id, at, execution.id))
    runner.run_until_idle()
    execution = runner.executions[execution.id]
    assert execution.state.current == "SUCCESS"
    assert "RESTARTED" in [h.state for h in execution.state.histories]
    assert task_ids(execution) == ["before", "block", "flaky", "after"]
    assert len(execution.runs_of("before")[0].attempts) == 1
    assert [a.state.current for a in execution.runs_of("flaky")[0].attempts] == ["FAILED", "SUCCESS"]
    assert execution.runs_of("block")[0].state.current == "SUCCESS"


def test_replay_starts_a_new_execution_with_the_same_inputs(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy("""
id: replayed
namespace: io.kestra.tests
inputs:
  - id: n
    type: INT
tasks:
  - id: double
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.n * 2 }}"
""")
    source = runner.run(flow, {"n": "21"}, labels={"team": "a"})
    runner.send(lambda event_id, at: ev.Replay(event_id, at, source.id, new_execution_id="again"))
    runner.run_until_idle()
    again = runner.executions["again"]
    assert again.state.current == "SUCCESS"
    assert again.inputs == {"n": 21} and again.labels["team"] == "a"
    assert again.original_id == source.id and again.metadata["replayOf"] == source.id
    assert again.runs_of("double")[0].outputs == {"value": "42"}
    assert runner.executions[source.id].to_dict() == source.to_dict()  # the source is untouched


def test_replay_from_a_task_run_keeps_what_came_before_and_reruns_the_rest(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy("""
id: replay-from
namespace: io.kestra.tests
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: "{{ execution.id }}"
  - id: block
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: p1
        type: io.kestra.plugin.core.debug.Return
        format: "{{ execution.id }}"
      - id: p2
        type: io.kestra.plugin.core.debug.Return
        format: "{{ execution.id }}"
  - id: c
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.a.value }}/{{ execution.id }}"
""")
    source = runner.run(flow)
    p2 = source.runs_of("p2")[0]
    runner.send(lambda event_id, at: ev.Replay(event_id, at, source.id, new_execution_id="again",
                                              task_run_id=p2.id))
    runner.run_until_idle()
    again = runner.executions["again"]
    assert again.state.current == "SUCCESS"
    assert task_ids(again) == ["a", "block", "p1", "p2", "c"]
    # a and p1 were kept as they ended; p2 ran again; c ran for the first time in `again`
    assert again.runs_of("a")[0].outputs == {"value": source.id}
    assert again.runs_of("p1")[0].outputs == {"value": source.id}
    assert again.runs_of("p2")[0].outputs == {"value": "again"}
    assert len(again.runs_of("p2")[0].attempts) == 2
    assert again.runs_of("c")[0].outputs == {"value": f"{source.id}/again"}
    assert again.original_id == source.id
    assert runner.executions[source.id].to_dict() == source.to_dict()
