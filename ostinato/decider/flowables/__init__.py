"""One module per flowable task type; `flowable_for` finds a task's semantics."""

from __future__ import annotations

from ostinato.decider.flowables.base import Again, Flowable, FlowableFailure, Render, Stop, Wait
from ostinato.decider.flowables.dag import DagFlowable, DagPlan
from ostinato.decider.flowables.foreach import ForEachFlowable
from ostinato.decider.flowables.if_ import IfFlowable
from ostinato.decider.flowables.loop_until import LoopUntilFlowable
from ostinato.decider.flowables.parallel import ParallelFlowable
from ostinato.decider.flowables.pause import PauseFlowable
from ostinato.decider.flowables.sequential import AllowFailureFlowable, SequentialFlowable
from ostinato.decider.flowables.switch import SwitchFlowable
from ostinato.flow import tasks as t
from ostinato.flow.tasks_execution import LoopUntil
from ostinato.decider.flowables.foreach_item import ForEachItemFlowable
from ostinato.flow.tasks_foreach_item import ForEachItem
from ostinato.decider.flowables.working_directory import WorkingDirectory, WorkingDirectoryFlowable

_FLOWABLES: dict[type[t.Task], Flowable] = {
    t.Sequential: SequentialFlowable(),
    t.AllowFailure: AllowFailureFlowable(),
    t.Parallel: ParallelFlowable(),
    t.Switch: SwitchFlowable(),
    t.If: IfFlowable(),
    t.ForEach: ForEachFlowable(),
    t.EachSequential: ForEachFlowable(),
    t.EachParallel: ForEachFlowable(),
    t.Dag: DagFlowable(),
    t.Pause: PauseFlowable(),
    LoopUntil: LoopUntilFlowable(),
    WorkingDirectory: WorkingDirectoryFlowable(),
    ForEachItem: ForEachItemFlowable(),
}


def register_flowable(task_cls: type[t.Task], flowable: Flowable) -> None:
    """Give a (plugin) flowable task class its semantics."""
    _FLOWABLES[task_cls] = flowable


def flowable_for(task: t.Task) -> Flowable:
    for cls in type(task).__mro__:
        found = _FLOWABLES.get(cls)  # type: ignore[arg-type]
        if found is not None:
            return found
    raise LookupError(f"no flowable semantics for task type `{task.type}`")


__all__ = ["Again", "DagPlan", "Flowable", "FlowableFailure", "PauseFlowable", "Render", "Stop", "Wait",
           "flowable_for", "register_flowable"]
