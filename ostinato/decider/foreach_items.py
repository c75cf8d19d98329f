"""ForEachItem's middle phase (`<id>_items`, ForEachItemExecutable): one child execution per
batch the split phase stored, and the merge phase told the children's outputs.

As Kestra's `ForEachItemExecutable` and `ExecutableUtils.manageIterations`:
- every child starts at once (Kestra has no concurrency for ForEachItem); its inputs are
  rendered with `taskrun.items` (the batch's URI) and `taskrun.iteration` (1-based); its id
  derives from the attempt and the iteration, so a replay asks for the same children;
- the run's outputs are `numberOfBatches` and `iterations`, a count of children by state
  (`CREATED` counts down as children end); without `wait` every child counts SUCCESS at once;
- the run ends when every child did: with `transmitFailed`, FAILED if one failed, else KILLED
  if one was killed, else WARNING if one warned, else SUCCESS; without it, SUCCESS;
- no batch (an empty items file): the run succeeds with no outputs.

What the decider keeps while children run (in the run's progress, so a restore from the
changelog has it): the children still awaited (id -> iteration) and the flow outputs of
those that ended, which the merge phase gets in its task (the decider never touches storage).
"""

from __future__ import annotations

from typing import Any

from ostinato.decider.base import DeciderBase
from ostinato.decider.context import task_context
from ostinato.decider.results import parse_instant
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType, state_of
from ostinato.expressions import ExpressionError, render_value
from ostinato.flow.tasks_foreach_item import (
    ITEMS_SUFFIX, SPLIT_SUFFIX, TRIGGER_TYPE, ForEachItemExecutable, ForEachItemMergeOutputs,
)
from ostinato.protocol import commands as cmd
from ostinato.protocol import events as ev
from ostinato.protocol.ids import derived_id

PENDING = "pendingChildren"
OUTPUTS = "childOutputs"
#: keys of the `iterations` output: the children counted by state
_CREATED, _RUNNING, _SUCCESS = str(StateType.CREATED), str(StateType.RUNNING), str(StateType.SUCCESS)
#: the order a finished ForEachItem's state is looked for among its children's states
_WORST_FIRST = (StateType.FAILED, StateType.KILLED, StateType.WARNING)


def pending_children(run: TaskRun) -> list[str]:
    """The child executions a ForEachItem's `_items` run still waits for."""
    return sorted(((run.progress.extra or {}).get(PENDING) or {}))


def child_labels(parent_labels: dict[str, Any], task_labels: Any, inherit: bool,
                 correlation_id: str) -> dict[str, Any]:
    """A child execution's labels: the parent's (without `system.*`) when inherited, the
    task's, and the correlation id of the whole tree."""
    if isinstance(task_labels, list):
        task_labels = {item["key"]: item["value"] for item in task_labels}
    labels: dict[str, Any] = {}
    if inherit:
        labels.update({k: v for k, v in parent_labels.items() if not k.startswith("system.")})
    labels.update(task_labels or {})
    labels["system.correlationId"] = correlation_id
    return labels


class ForEachItems(DeciderBase):
    def start_batches(self, run: TaskRun, task: ForEachItemExecutable, attempt: int) -> None:
        """Start one child execution per batch of the split phase (see the module's doc)."""
        run.state.move(StateType.RUNNING, self.now)
        run.attempts[-1].state.move(StateType.RUNNING, self.now)
        batches = self._batches(run, task)
        if not batches:
            self._end_attempt(run, StateType.SUCCESS)
            return
        try:
            requests = [self._child(run, task, attempt, iteration, uri)
                        for iteration, uri in enumerate(batches, start=1)]
        except ExpressionError as error:
            self.fail_run(run, str(error))
            return
        self.commands.extend(requests)
        count = len(requests)
        if not task.wait:
            run.outputs = {"numberOfBatches": count, "iterations": {_RUNNING: 0, _SUCCESS: count}}
            self._end_attempt(run, StateType.SUCCESS)
            return
        run.outputs = {"numberOfBatches": count, "iterations": {_CREATED: count, _RUNNING: 0}}
        extra = dict(run.progress.extra or {})
        extra[PENDING] = {request.execution_id: iteration
                          for iteration, request in enumerate(requests, start=1)}
        extra[OUTPUTS] = {}
        run.progress.extra = extra

    def on_batch_result(self, run: TaskRun, task: ForEachItemExecutable, event: ev.SubflowResult) -> None:
        """A child ended: count it; once every child did, end the run (see the module's doc)."""
        extra = run.progress.extra or {}
        pending: dict[str, int] = dict(extra.get(PENDING) or {})
        iteration = pending.pop(event.child_execution_id, None)
        if iteration is None:  # not ours, or already counted
            return
        state = state_of(event.state)
        outputs = dict(run.outputs or {})
        iterations = dict(outputs.get("iterations") or {})
        iterations[_CREATED] = int(iterations.get(_CREATED, 0)) - 1
        iterations[str(state)] = int(iterations.get(str(state), 0)) + 1
        outputs["iterations"] = iterations
        run.outputs = outputs
        merged = dict(extra.get(OUTPUTS) or {})
        if event.outputs is not None:
            merged[str(iteration)] = event.outputs
        run.progress.extra = {**extra, PENDING: pending, OUTPUTS: merged}
        if event.message:
            self.log(run, "ERROR" if state is StateType.FAILED else "INFO", event.message)
        if pending:
            return
        self._end_attempt(run, _final_state(iterations) if task.transmit_failed else StateType.SUCCESS)

    def merge_task(self, run: TaskRun, task: ForEachItemMergeOutputs) -> ForEachItemMergeOutputs:
        """The merge phase's task as sent to a worker: with the children's flow outputs, in
        iteration order (none when their flow declares no outputs)."""
        items = self._sibling(run, task.id[: -len("_merge")] + ITEMS_SUFFIX)
        merged = ((items.progress.extra or {}).get(OUTPUTS) or {}) if items is not None else {}
        ordered = [merged[key] for key in sorted(merged, key=int)]
        return task.model_copy(update={"subflow_outputs": ordered or None})

    # ------------------------------------------------------------------ helpers

    def _end_attempt(self, run: TaskRun, state: StateType) -> None:
        run.attempts[-1].state.move(state, self.now)
        self.attempt_ended(run, state)

    def _sibling(self, run: TaskRun, task_id: str) -> TaskRun | None:
        """The latest task run of `task_id` under the same parent (and iteration of it)."""
        found = None
        for other in self.ex.task_run_list:
            if (other.task_id == task_id and other.parent_task_run_id == run.parent_task_run_id
                    and other.value == run.value):
                found = other
        return found

    def _batches(self, run: TaskRun, task: ForEachItemExecutable) -> list[str]:
        split = self._sibling(run, task.id[: -len(ITEMS_SUFFIX)] + SPLIT_SUFFIX)
        outputs = (split.outputs if split is not None else None) or {}
        return [str(uri) for uri in outputs.get("batches") or []]

    def _child(self, run: TaskRun, task: ForEachItemExecutable, attempt: int, iteration: int,
               uri: str) -> cmd.StartSubflow:
        """The request of the child execution of one batch (raises ExpressionError)."""
        ex = self.ex
        context = task_context(self.flow, ex, run, task, self.settings, self.now)
        context["taskrun"] = {**context["taskrun"], "items": uri, "iteration": iteration}
        schedule = render_value(task.schedule_date, context) if task.schedule_date else None
        labels = child_labels(ex.labels, render_value(task.labels, context), task.inherit_labels,
                              ex.labels.get("system.correlationId", ex.id))
        return cmd.StartSubflow(
            parent_execution_id=ex.id, task_run_id=run.id, attempt=attempt,
            execution_id=derived_id(f"{ex.id}/{run.id}/{attempt}/{iteration}"),
            namespace=str(render_value(task.namespace, context)),
            flow_id=str(render_value(task.flow_id, context)), revision=task.revision,
            inputs=render_value(task.inputs, context), labels=labels, wait=task.wait,
            trigger={"id": task.id, "type": TRIGGER_TYPE,
                     "variables": {"executionId": ex.id, "namespace": ex.namespace,
                                   "flowId": ex.flow_id, "flowRevision": ex.flow_revision}},
            schedule_date=parse_instant(str(schedule)) if schedule else None,
        )


def _final_state(iterations: dict[str, Any]) -> StateType:
    for state in _WORST_FIRST:
        if int(iterations.get(str(state), 0)) > 0:
            return state
    return StateType.SUCCESS
