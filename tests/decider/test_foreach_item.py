"""ForEachItem in the pure decider: the split's batches become one child execution each
(ids derived from the attempt and iteration, inputs with `taskrun.items`/`taskrun.iteration`),
children counted by state, a repeated result ignored, `transmitFailed: false`, the merge
phase sent with the children's outputs in iteration order, a kill that reaches every child,
and a restore of the execution from its JSON mid-way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ostinato.decider import commands as cmd
from ostinato.decider import decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.flow.tasks_foreach_item import ForEachItemMergeOutputs

from tests.decider.helpers import flow_of

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

FLOW = """
id: parent
namespace: company.team
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "kestra:///company/team/parent/executions/ex1/inputs/file/items.ion"
    batch: {rows: 2}
    namespace: company.team
    flowId: child
    transmitFailed: {transmit}
    inputs:
      batch: "{{ taskrun.items }}"
      number: "{{ taskrun.iteration }}"
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.each_items.numberOfBatches }}"}
"""
BATCHES = [f"kestra:///company/team/parent/executions/ex1/tasks/each_split/r/{n}.ion" for n in (1, 2, 3)]


class Driver:
    """Applies events one by one and keeps every command the decider gave."""

    def __init__(self, transmit: bool = True) -> None:
        self.flow: Flow = flow_of(FLOW.replace("{transmit}", str(transmit).lower()))
        self.execution: Execution | None = None
        self.commands: list[object] = []
        self.seconds = 0
        self.apply(ev.ExecutionRequested(id="req", at=T0, execution_id="ex1",
                                         namespace=self.flow.namespace, flow_id=self.flow.id,
                                         flow_revision=1))

    def at(self) -> datetime:
        self.seconds += 1
        return T0 + timedelta(seconds=self.seconds)

    def apply(self, event: ev.Event) -> None:
        decision = decide(self.flow, self.execution, event)
        self.execution = decision.execution
        self.commands += decision.commands

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [c for c in self.commands if isinstance(c, kind)]

    def finish_task(self, task_id: str, outputs: dict[str, object] | None = None) -> cmd.RunTask:
        command = next(c for c in self.of(cmd.RunTask) if c.task.id == task_id)
        at = self.at()
        for step in ("RUNNING", "SUCCESS"):
            self.apply(ev.WorkerTaskResult(id=f"{command.task_run_id}/{step}", at=at,
                                           execution_id="ex1", task_run_id=command.task_run_id,
                                           attempt=command.attempt, state=step,
                                           outputs=outputs if step == "SUCCESS" else None))
        return command  # type: ignore[no-any-return]

    def child_ends(self, start: cmd.StartSubflow, state: str, outputs: dict[str, object] | None = None,
                   event_id: str | None = None) -> None:
        self.apply(ev.SubflowResult(id=event_id or f"{start.execution_id}/end", at=self.at(),
                                    execution_id="ex1", task_run_id=start.task_run_id,
                                    attempt=start.attempt, child_execution_id=start.execution_id,
                                    state=state, outputs=outputs))

    def run(self, task_id: str):  # type: ignore[no-untyped-def]
        assert self.execution is not None
        return next(r for r in self.execution.task_run_list if r.task_id == task_id)


def started(transmit: bool = True) -> tuple[Driver, list[cmd.StartSubflow]]:
    driver = Driver(transmit)
    driver.finish_task("each_split", {"splits": "kestra:///s.txt", "batches": BATCHES})
    return driver, driver.of(cmd.StartSubflow)


def test_one_child_per_batch_with_derived_ids_and_the_batch_in_its_inputs() -> None:
    driver, starts = started()
    assert [s.inputs for s in starts] == [{"batch": uri, "number": str(n)} for n, uri in enumerate(BATCHES, 1)]
    assert len({s.execution_id for s in starts}) == 3
    assert all(s.flow_id == "child" and s.wait for s in starts)
    assert all(s.labels["system.correlationId"] == "ex1" for s in starts)
    again, starts_again = started()  # the same events give the same children
    assert [s.execution_id for s in starts_again] == [s.execution_id for s in starts]
    items = driver.run("each_items")
    assert items.outputs == {"numberOfBatches": 3, "iterations": {"CREATED": 3, "RUNNING": 0}}


def test_children_counted_by_state_and_the_merge_gets_outputs_in_iteration_order() -> None:
    driver, starts = started()
    driver.child_ends(starts[2], "SUCCESS", {"value": "c"})
    driver.child_ends(starts[0], "SUCCESS", {"value": "a"})
    driver.child_ends(starts[0], "SUCCESS", {"value": "a"}, event_id="again")  # repeated: ignored
    assert driver.run("each_items").outputs["iterations"] == {"CREATED": 1, "RUNNING": 0, "SUCCESS": 2}
    assert not driver.run("each_items").state.terminal
    driver.child_ends(starts[1], "SUCCESS", {"value": "b"})
    items = driver.run("each_items")
    assert items.state.current == "SUCCESS"
    assert items.outputs["iterations"] == {"CREATED": 0, "RUNNING": 0, "SUCCESS": 3}
    merge = next(c for c in driver.of(cmd.RunTask) if c.task.id == "each_merge")
    assert isinstance(merge.task, ForEachItemMergeOutputs)
    assert merge.task.subflow_outputs == [{"value": "a"}, {"value": "b"}, {"value": "c"}]


def test_a_failed_child_fails_the_run_only_with_transmit_failed() -> None:
    for transmit, expected in ((True, "FAILED"), (False, "SUCCESS")):
        driver, starts = started(transmit)
        for start, state in zip(starts, ("SUCCESS", "FAILED", "SUCCESS")):
            driver.child_ends(start, state)
        assert driver.run("each_items").state.current == expected
        assert driver.run("each_items").outputs["iterations"]["FAILED"] == 1
        assert driver.execution is not None
        merging = any(c.task.id == "each_merge" for c in driver.of(cmd.RunTask))
        assert merging == (expected == "SUCCESS")  # the merge runs only after a success
        if expected == "FAILED":
            assert driver.execution.state.current == "FAILED"


def test_kill_reaches_every_child_still_running() -> None:
    driver, starts = started()
    driver.child_ends(starts[0], "SUCCESS")
    driver.apply(ev.Kill(id="kill", at=driver.at(), execution_id="ex1"))
    killed = {c.execution_id for c in driver.of(cmd.KillExecution)}
    assert killed == {starts[1].execution_id, starts[2].execution_id}


def test_what_the_decider_keeps_survives_a_restore_from_json() -> None:
    driver, starts = started()
    driver.child_ends(starts[1], "SUCCESS", {"value": "b"})
    assert driver.execution is not None
    driver.execution = Execution.from_dict(driver.execution.to_dict())
    driver.child_ends(starts[0], "SUCCESS", {"value": "a"})
    driver.child_ends(starts[2], "SUCCESS", {"value": "c"})
    assert driver.run("each_items").state.current == "SUCCESS"
    merge = next(c for c in driver.of(cmd.RunTask) if c.task.id == "each_merge")
    assert merge.task.subflow_outputs == [{"value": "a"}, {"value": "b"}, {"value": "c"}]


def test_no_batch_succeeds_at_once_without_outputs() -> None:
    driver = Driver()
    driver.finish_task("each_split", {"splits": "kestra:///s.txt", "batches": []})
    assert driver.of(cmd.StartSubflow) == []
    items = driver.run("each_items")
    assert items.state.current == "SUCCESS" and items.outputs is None


EXIT_FLOW = """
id: parent
namespace: company.team
tasks:
  - id: both
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: each
        type: io.kestra.plugin.core.flow.ForEachItem
        items: "kestra:///company/team/parent/executions/ex1/inputs/file/items.ion"
        namespace: company.team
        flowId: child
      - id: then
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - {id: first, type: io.kestra.plugin.core.debug.Return, format: x}
          - {id: stop, type: io.kestra.plugin.core.execution.Exit, state: KILLED}
"""


def test_an_exit_task_stops_every_child_still_running() -> None:
    driver = Driver()
    driver.flow, driver.execution, driver.commands = flow_of(EXIT_FLOW), None, []
    driver.apply(ev.ExecutionRequested(id="req2", at=T0, execution_id="ex1", namespace="company.team",
                                       flow_id="parent", flow_revision=1))
    driver.finish_task("each_split", {"splits": "kestra:///s.txt", "batches": BATCHES})
    starts = driver.of(cmd.StartSubflow)
    assert len(starts) == 3
    driver.child_ends(starts[0], "SUCCESS")
    driver.finish_task("first")
    assert {c.execution_id for c in driver.of(cmd.KillExecution)} == {s.execution_id for s in starts[1:]}
    assert driver.execution is not None and driver.execution.state.current == "KILLED"
