"""Subflow tasks: each attempt starts a child execution; the child's end is its result."""

from __future__ import annotations

from typing import Any

from ostinato.decider.base import DeciderBase
from ostinato.decider.context import base_context, task_context
from ostinato.decider.outputs import subflow_outputs
from ostinato.decider.results import parse_instant
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType, state_of
from ostinato.expressions import ExpressionError, render_value
from ostinato.flow.tasks import Subflow
from ostinato.flow.tasks_foreach_item import ForEachItemExecutable
from ostinato.protocol import commands as cmd
from ostinato.protocol import events as ev
from ostinato.protocol.ids import derived_id


class Subflows(DeciderBase):
    def start_subflow(self, run: TaskRun, task: Subflow, attempt: int) -> None:
        """Ask for the child execution of this attempt (its id derives from the attempt);
        a Subflow that does not wait succeeds at once."""
        ex = self.ex
        context = task_context(self.flow, ex, run, task, self.settings, self.now)
        try:
            namespace = str(render_value(task.namespace, context))
            flow_id = str(render_value(task.flow_id, context))
            inputs = render_value(task.inputs, context)
            task_labels = render_value(task.labels, context)
            schedule = render_value(task.schedule_date, context) if task.schedule_date else None
        except ExpressionError as error:
            self.fail_run(run, str(error))
            return
        if isinstance(task_labels, list):
            task_labels = {item["key"]: item["value"] for item in task_labels}
        labels: dict[str, Any] = {}
        if task.inherit_labels:
            labels.update({k: v for k, v in ex.labels.items() if not k.startswith("system.")})
        labels.update(task_labels)
        labels["system.correlationId"] = ex.labels.get("system.correlationId", ex.id)
        run.state.move(StateType.RUNNING, self.now)
        run.attempts[-1].state.move(StateType.RUNNING, self.now)
        child_id = derived_id(f"{ex.id}/{run.id}/{attempt}")
        run.progress.child_execution_id = child_id
        self.commands.append(cmd.StartSubflow(
            parent_execution_id=ex.id, task_run_id=run.id, attempt=attempt,
            execution_id=child_id, namespace=namespace, flow_id=flow_id, revision=task.revision,
            inputs=inputs, labels=labels, wait=task.wait,
            trigger={"id": task.id, "type": "io.kestra.plugin.core.flow.Subflow",
                     "variables": {"executionId": ex.id, "namespace": ex.namespace,
                                   "flowId": ex.flow_id, "flowRevision": ex.flow_revision}},
            schedule_date=parse_instant(str(schedule)) if schedule else None,
        ))
        if not task.wait:
            run.outputs = {"executionId": child_id}
            run.attempts[-1].state.move(StateType.SUCCESS, self.now)
            self.end_run(run, StateType.SUCCESS)

    def on_subflow_result(self, event: ev.SubflowResult) -> None:
        run = self.current_attempt_run(event.task_run_id, event.attempt)
        if run is None:
            return
        task = self.flow.task(run.task_id)
        if isinstance(task, ForEachItemExecutable):  # one of its children (foreach_items.py)
            self.on_batch_result(run, task, event)
            return
        assert isinstance(task, Subflow)
        state = state_of(event.state)
        if state.is_failed:
            state = StateType.FAILED if task.transmit_failed else StateType.SUCCESS
        outputs: dict[str, Any] = {"executionId": event.child_execution_id, "state": event.state}
        if event.outputs is not None:
            # the child flow declares outputs (Kestra >= 0.15): they are the task's, and its
            # own deprecated `outputs:` mapping is not used
            outputs["outputs"] = event.outputs
        elif task.outputs:
            context = base_context(self.flow, self.ex, self.settings, self.now)
            context["outputs"] = event.task_outputs
            try:
                outputs["outputs"] = subflow_outputs(task, context)
            except ExpressionError as error:
                self.log(run, "ERROR", f"Unable to render the outputs of `{task.id}`: {error}")
                state = StateType.FAILED
        if event.message:
            self.log(run, "ERROR" if state is StateType.FAILED else "INFO", event.message)
        run.outputs = outputs
        run.attempts[-1].state.move(state, self.now)
        self.attempt_ended(run, state)
