"""Tasks that change the execution itself, applied by the decider (Kestra's
`ExecutionUpdatableTask`, run by its executor): `Labels` and `Exit`; and the way an
execution is ended from the inside (`terminate`), shared with SLA violations."""

from __future__ import annotations

import json
from typing import Any

from ostinato.decider import control
from ostinato.decider.base import DeciderBase
from ostinato.decider.foreach_items import pending_children
from ostinato.execution.model import TaskRun
from ostinato.execution.progress import Phase
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError
from ostinato.flow.labels import MAX_LABELS, label_errors
from ostinato.flow.tasks_execution import EXIT_STATES, Exit, ExecutionUpdatingTask, Labels
from ostinato.protocol import commands as cmd



class UpdateRefused(Exception):
    """The task cannot update the execution: its run fails with this message."""


def labels_map(run_labels: Any) -> dict[str, str]:
    """A Labels task's rendered `labels` as a map: a map, a list of {key, value}, or a
    string holding the JSON of a map. Raises UpdateRefused for anything else."""
    value = run_labels
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise UpdateRefused(f"Unable to read the labels as a JSON map: {error}") from None
    if isinstance(value, list):
        pairs: dict[str, str] = {}
        for item in value:
            if not isinstance(item, dict) or "key" not in item:
                raise UpdateRefused(f"Unknown value type: {type(item).__name__}")
            pairs[_text(item["key"])] = _text(item.get("value"))
        return pairs
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    raise UpdateRefused(f"Unknown value type: {type(value).__name__}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class ExecutionUpdates(DeciderBase):
    def update_execution(self, run: TaskRun, task: ExecutionUpdatingTask) -> None:
        """Apply a Labels or Exit attempt (already created) to the execution."""
        try:
            if isinstance(task, Labels):
                self._add_labels(run, task)
                state = StateType.SUCCESS
            else:
                assert isinstance(task, Exit)
                state = self._exit_state(run, task)
        except (UpdateRefused, ExpressionError) as error:
            run.attempts[-1].state.move(StateType.FAILED, self.now)
            self.log(run, "ERROR", str(error))
            self.attempt_ended(run, StateType.FAILED)
            return
        run.state.move(StateType.RUNNING, self.now)
        attempt = run.attempts[-1]
        attempt.state.move(StateType.RUNNING, self.now)
        attempt.state.move(state, self.now)
        if isinstance(task, Exit):
            self.terminate(state, run)
        else:
            self.attempt_ended(run, state)

    def _add_labels(self, run: TaskRun, task: Labels) -> None:
        labels = labels_map(self.render(run, task, task.labels))
        for key, value in labels.items():
            if key.startswith("system."):
                raise UpdateRefused("System labels can only be set by Kestra itself, "
                                    f"offending label: {key}={value}")
        merged = {**self.ex.labels, **labels}
        # the rule every label from outside follows (sizes, no control characters)
        errors = label_errors(labels, allow_system=True)
        if len(merged) > MAX_LABELS:
            errors.append(f"the execution would have {len(merged)} labels, more than the "
                          f"{MAX_LABELS} accepted")
        if errors:
            raise UpdateRefused("; ".join(errors))
        self.ex.labels.update(labels)

    def _exit_state(self, run: TaskRun, task: Exit) -> StateType:
        name = str(self.render(run, task, task.state)).strip().upper()
        if name not in EXIT_STATES:
            raise UpdateRefused(f"Exit `{task.id}`: unknown state `{name}` "
                                f"(SUCCESS, WARNING, KILLED, FAILED or CANCELED)")
        return EXIT_STATES[name]

    def terminate(self, state: StateType, target: TaskRun | None) -> None:
        """End the execution in `state` from the inside (Exit, an SLA violation), as Kestra's
        executor does: `target` (else the last unfinished task run) and its parents take
        `state`; KILLED kills the execution; any other state stops what still runs (its
        task runs end KILLED), then the flow's afterExecution tasks run."""
        ex = self.ex
        if target is None:
            target = next((r for r in reversed(ex.task_run_list) if not r.state.terminal), None)
        if state is StateType.KILLED:
            if target is not None:
                self._end_here(target, StateType.KILLED)
            control.kill(self)
            return
        chain = [] if target is None else [target, *ex.parents_of(target)]
        for run in chain:
            self._end_here(run, state)
        for run in ex.task_run_list:
            if not run.state.terminal:
                self._stop(run)
        for timer_id in list(ex.timers):
            self.cancel_timer(timer_id)
        ex.progress.paused_runs = []
        ex.state.move(state, self.now)
        if self.phase_tasks(None, Phase.AFTER):
            self.start_phase(None, Phase.AFTER)
        else:
            ex.progress.phase = Phase.DONE

    def _end_here(self, run: TaskRun, state: StateType) -> None:
        """A task run of the chain ends in `state`; its children hear nothing more."""
        self.touched[run.id] = None
        if run.attempts and not run.attempts[-1].state.terminal:
            self._stop_attempt(run, state)
        run.progress.phase = Phase.DONE
        run.state.move(state, self.now)
        self.ex.record_outputs(run)

    def _stop(self, run: TaskRun) -> None:
        self.touched[run.id] = None
        if run.attempts and not run.attempts[-1].state.terminal:
            self._stop_attempt(run, StateType.KILLED)
        run.progress.phase = Phase.DONE
        run.state.move(StateType.KILLED, self.now)

    def _stop_attempt(self, run: TaskRun, state: StateType) -> None:
        """Tell whoever runs the attempt to stop (a worker, or a subflow's child)."""
        attempt = run.attempts[-1]
        child = run.progress.child_execution_id
        if child is not None:
            self.commands.append(cmd.KillExecution(child))
        elif pending_children(run):  # a ForEachItem's children (foreach_items.py)
            self.commands.extend(cmd.KillExecution(batch) for batch in pending_children(run))
        elif not self.flow.task(run.task_id).flowable:
            self.commands.append(cmd.KillTask(self.ex.id, run.id, attempt=len(run.attempts)))
        attempt.state.move(state, self.now)
