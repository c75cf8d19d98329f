"""Flowables and plans answer questions (what begins, which lanes come next, what state
results) without a decider: each can be asked on its own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ostinato.decider.flowables import FlowableFailure, Wait, flowable_for
from ostinato.decider.plans import Plan
from ostinato.execution.model import State, TaskRun
from ostinato.execution.progress import Phase, TaskRunProgress
from ostinato.execution.states import StateType
from ostinato.flow.tasks import Task

from tests.decider.helpers import flow_of


def _task(source: str) -> Task:
    flow = flow_of("id: f\nnamespace: ns\ntasks:\n" + source)
    return flow.tasks[0]


def _run(task: Task) -> TaskRun:
    return TaskRun("r", "e", "ns", "f", task.id, State())


def _identity(value: Any) -> Any:
    return value


SWITCH = """
  - id: s
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ x }}"
    cases:
      a:
        - id: one
          type: io.kestra.plugin.core.debug.Return
          format: "1"
"""


def test_a_switch_keeps_its_case_and_fails_without_a_match() -> None:
    task = _task(SWITCH)
    run = _run(task)
    assert flowable_for(task).begin(run, task, lambda value: "a") is None
    assert run.progress.case == "a" and run.outputs == {"value": "a", "defaults": False}
    assert [t.id for t in flowable_for(task).plan(run, task).tasks(0)] == ["one"]
    with pytest.raises(FlowableFailure, match="no case matches `b`"):
        flowable_for(task).begin(_run(task), task, lambda value: "b")


def test_a_pause_asks_to_wait_and_answers_its_timers() -> None:
    task = _task("""
  - id: p
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT5M
    timeout: PT1H
    behavior: WARN
""")
    flowable = flowable_for(task)
    run = _run(task)
    assert flowable.begin(run, task, _identity) == Wait(
        [("pause-duration", timedelta(minutes=5)), ("pause-timeout", timedelta(hours=1))])
    assert flowable.on_timer(run, task, "pause-duration") is StateType.WARNING
    with pytest.raises(FlowableFailure, match="timed out"):
        flowable.on_timer(run, task, "pause-timeout")


def test_a_dag_plan_starts_a_node_once_its_dependencies_are_done() -> None:
    task = _task("""
  - id: d
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: a, type: io.kestra.plugin.core.debug.Return, format: a}
      - task: {id: b, type: io.kestra.plugin.core.debug.Return, format: b}
        dependsOn: [a]
      - task: {id: c, type: io.kestra.plugin.core.debug.Return, format: c, disabled: true}
""")
    run = _run(task)
    plan = flowable_for(task).plan(run, task)
    progress = TaskRunProgress()
    progress.enter(Phase.TASKS)
    plan.enter(progress)
    assert list(plan.nexts(progress)) == [0], "c is disabled: done at once, b waits for a"
    assert progress.done == ["c"]
    progress.running = 1  # the decider started a
    assert list(plan.nexts(progress)) == [] and not plan.complete(progress)
    progress.running = 0  # a ended
    ended_a = TaskRun("a1", "e", "ns", "f", "a", State(StateType.SUCCESS), lane=0)
    assert plan.after_child(progress, ended_a) is None
    assert list(plan.nexts(progress)) == [1]
    progress.running = 0  # b ended
    plan.after_child(progress, TaskRun("b1", "e", "ns", "f", "b", State(StateType.SUCCESS), lane=1))
    assert plan.complete(progress) and progress.done == ["c", "a", "b"]


def test_a_sequential_plan_follows_a_lane_until_a_child_failed() -> None:
    tasks = [_task(f"""
  - id: t{i}
    type: io.kestra.plugin.core.debug.Return
    format: x
""") for i in range(2)]
    plan = Plan(tasks)
    progress = TaskRunProgress()
    progress.enter(Phase.TASKS)
    assert list(plan.nexts(progress)) == [0]
    first = TaskRun("r0", "e", "ns", "f", "t0", State(StateType.SUCCESS), lane=0, pos=0)
    following = plan.after_child(progress, first)
    assert following is not None and following.id == "t1"
    progress.failed = True
    assert plan.after_child(progress, first) is None
    progress.running = 0
    assert plan.complete(progress)


def test_allow_failure_resolves_a_failure_to_warning() -> None:
    task = _task("""
  - id: af
    type: io.kestra.plugin.core.flow.AllowFailure
    tasks:
      - id: x
        type: io.kestra.plugin.core.debug.Return
        format: x
""")
    assert flowable_for(task).outcome(task, StateType.FAILED) is StateType.WARNING
    assert flowable_for(task).outcome(task, StateType.KILLED) is StateType.KILLED
