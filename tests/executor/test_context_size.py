"""The context limit weighs the context (inputs, trigger, labels, outputs), not the
bookkeeping of the task runs (DESIGN.md invariant 4)."""

from __future__ import annotations

from datetime import datetime, timezone

from ostinato.decider import events as ev
from ostinato.execution.model import Execution, State, TaskRun
from ostinato.execution.states import StateType
from ostinato.services.executor.limits import ContextMeter, context_overflow

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def execution_of(runs: int, output: str) -> Execution:
    execution = Execution(id="e", namespace="n", flow_id="f", flow_revision=1,
                          state=State(StateType.RUNNING, []),
                          inputs={"name": "x" * 100}, labels={"team": "a"})
    for i in range(runs):
        execution.task_run_list.append(TaskRun(
            id=f"r{i}", execution_id="e", namespace="n", flow_id="f", task_id="t",
            state=State(StateType.SUCCESS, []), value=str(i), outputs={"value": output}))
    return execution


def test_ten_thousand_runs_weigh_only_their_outputs() -> None:
    execution = execution_of(10_000, "ok")
    size = ContextMeter().measure(execution)
    assert size.outputs == 10_000 * len('{"value":"ok"}')
    assert size.base == len('{"name":"' + "x" * 100 + '"}') + len('{"team":"a"}')


def test_the_run_being_weighed_is_left_out_and_the_message_names_the_parts() -> None:
    execution = execution_of(3, "y" * 400)
    meter = ContextMeter()
    size = meter.measure(execution, excluding="r0")
    assert size.outputs == 2 * len('{"value":"' + "y" * 400 + '"}')
    result = ev.WorkerTaskResult("id", NOW, "e", "r0", 0, StateType.SUCCESS, {"value": "z" * 1000})
    message = context_overflow(result, size, 1_500)
    assert message is not None
    added = len('{"value":"' + "z" * 1000 + '"}')
    assert f"are {added} bytes" in message and "over the context limit of 1500 bytes" in message
    assert f"inputs, trigger and labels: {size.base} bytes" in message
    assert context_overflow(result, size, 10_000) is None


class CountingRuns(list[TaskRun]):
    """A task-run list that counts the walks over it."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        CountingRuns.walks += 1
        return super().__iter__()


def test_after_the_first_measure_only_the_changed_runs_are_weighed() -> None:
    execution = execution_of(0, "")
    for run in execution_of(2_000, "ok").task_run_list:
        execution.add(run)  # indexed by id, as the decider adds them
    execution.task_run_list = CountingRuns(execution.task_run_list)
    meter = ContextMeter()
    first = meter.measure(execution)
    walks = CountingRuns.walks
    run = execution.run("r7")
    run.outputs = {"value": "longer output"}
    meter.note(execution, ["r7"])
    second = meter.measure(execution, excluding="r9")
    assert CountingRuns.walks == walks  # no walk over the 2,000 runs after the first
    fresh = ContextMeter().measure(execution, excluding="r9")
    assert second == fresh  # the same figure as a full walk
    assert second.outputs == first.outputs - 2 * len('{"value":"ok"}') + len('{"value":"longer output"}')


def test_removed_runs_make_the_meter_walk_again() -> None:
    execution = execution_of(10, "ok")
    meter = ContextMeter()
    meter.measure(execution)
    del execution.task_run_list[5:]
    meter.note(execution, [])
    assert meter.measure(execution) == ContextMeter().measure(execution)
