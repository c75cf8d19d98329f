"""A recorded event log replays through the decider to identical states and commands."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ostinato.decider import decide
from ostinato.decider import events as ev
from ostinato.flow.model import Flow
from ostinato.inprocess import InProcessRunner

FLOW = """
id: replay
namespace: io.kestra.tests
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b", "c"]
    concurrencyLimit: 2
    tasks:
      - id: hello
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}-{{ parent.taskrun.value ?? 'top' }}"
      - id: flaky
        type: io.kestra.plugin.core.log.Log
        message: "{{ taskrun.attemptsCount >= 1 ? 'ok' : missing }}"
        retry:
          type: constant
          interval: PT1S
          maxAttempt: 3
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    delay: PT2S
  - id: end
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.hello.b.value }}"
"""


def test_recorded_events_replay_to_identical_states(tmp_path: Path) -> None:
    recorded: list[ev.Event] = []
    runner = InProcessRunner(storage_dir=tmp_path, on_event=recorded.append)
    flow = runner.deploy(FLOW)
    original = runner.run(flow)
    assert original.state.current == "SUCCESS"
    assert original.task_outputs["end"]["value"] == "b-top"

    replayed = None
    snapshots = []
    for event in recorded:
        decision = decide(flow, replayed, event)
        replayed = decision.execution
        snapshots.append(copy.deepcopy(replayed.to_dict()) if replayed else None)

    assert replayed is not None
    assert replayed.to_dict() == original.to_dict()
    # Replaying once more from scratch gives the same sequence of states.
    again = None
    for event, snapshot in zip(recorded, snapshots):
        again = decide(flow, again, event).execution
        assert (again.to_dict() if again else None) == snapshot


def test_an_event_applied_twice_changes_nothing(tmp_path: Path) -> None:
    recorded: list[ev.Event] = []
    runner = InProcessRunner(storage_dir=tmp_path, on_event=recorded.append)
    flow = runner.deploy(FLOW)
    runner.run(flow)
    execution = None
    for event in recorded:
        execution = decide(flow, execution, event).execution
        assert execution is not None
        before = copy.deepcopy(execution.to_dict())
        duplicate = decide(flow, execution, event)
        assert duplicate.commands == []
        assert duplicate.execution is not None and duplicate.execution.to_dict() == before


def test_decision_names_every_task_run_it_changed(tmp_path: Path) -> None:
    """The executor writes only the task runs a decision lists: none may be missing."""
    recorded: list[ev.Event] = []
    runner = InProcessRunner(storage_dir=tmp_path, on_event=recorded.append)
    flow = runner.deploy(FLOW)
    runner.run(flow)
    execution = None
    for event in recorded:
        before: dict[str, Any] = {} if execution is None else {
            run.id: run.to_dict() for run in copy.deepcopy(execution).task_run_list}
        decision = decide(flow, execution, event)
        execution = decision.execution
        assert execution is not None
        actually = {run.id for run in execution.task_run_list if before.get(run.id) != run.to_dict()}
        assert actually <= set(decision.changed), (type(event).__name__, actually - set(decision.changed))


# -- Invariant 10: uuid() and randomInt() in the decider's own renders replay exactly ----------

RANDOM_SWITCH = """
id: random-switch
namespace: io.kestra.tests
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(1, 16) }}"
    tasks:
      - id: pick
        type: io.kestra.plugin.core.flow.Switch
        value: "{{ randomInt(0, 2) }}"
        cases:
          "0":
            - id: a
              type: io.kestra.plugin.core.debug.Return
              format: "a-{{ parent.taskrun.value }}"
          "1":
            - id: b
              type: io.kestra.plugin.core.debug.Return
              format: "b-{{ parent.taskrun.value }}"
"""

RANDOM_UUIDS = """
id: random-uuids
namespace: io.kestra.tests
tasks:
  - id: coin
    type: io.kestra.plugin.core.flow.If
    condition: "{{ uuid() > '8' or randomInt(0, 2) == 1 }}"
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
    values: "{{ [uuid(), uuid()] }}"
    tasks:
      - id: echo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
outputs:
  - id: token
    type: STRING
    value: "{{ uuid() }}"
"""


def _record(tmp_path: Path, source: str) -> tuple[list[ev.Event], Flow, dict[str, Any]]:
    recorded: list[ev.Event] = []
    runner = InProcessRunner(storage_dir=tmp_path, on_event=recorded.append)
    flow = runner.deploy(source)
    original = runner.run(flow)
    assert original.state.current == "SUCCESS", original.state.current
    return recorded, flow, original.to_dict()


def _replay(flow: Flow, recorded: list[ev.Event]) -> list[dict[str, Any]]:
    execution = None
    snapshots = []
    for event in recorded:
        execution = decide(flow, execution, event).execution
        assert execution is not None
        snapshots.append(copy.deepcopy(execution.to_dict()))
    return snapshots


def test_a_switch_on_random_int_replays_to_the_recorded_branches(tmp_path: Path) -> None:
    recorded, flow, original = _record(tmp_path, RANDOM_SWITCH)
    replayed = _replay(flow, recorded)
    assert replayed[-1] == original
    picked = {run["taskId"] for run in original["taskRunList"]}
    assert picked >= {"a", "b"}  # 15 draws: both branches were taken
    assert _replay(flow, recorded) == replayed


def test_uuid_in_if_foreach_and_outputs_replays_exactly(tmp_path: Path) -> None:
    recorded, flow, original = _record(tmp_path, RANDOM_UUIDS)
    replayed = _replay(flow, recorded)
    assert replayed[-1] == original
    values = [run["value"] for run in original["taskRunList"] if run["taskId"] == "echo"]
    assert len(set(values)) == 2  # two uuid() calls in one render differ
    assert _replay(flow, recorded) == replayed
