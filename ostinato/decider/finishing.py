"""The end of an execution: its flow outputs rendered, a CREATE_NEW_EXECUTION retry asked
for, its timers dropped, then its afterExecution tasks."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.decider.context import base_context
from ostinato.decider.outputs import render_flow_outputs
from ostinato.decider.results import parse_instant
from ostinato.decider.retry import effective_retry, next_attempt_at
from ostinato.execution.progress import Phase
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError
from ostinato.protocol import commands as cmd
from ostinato.protocol.ids import derived_id


class Finishing(DeciderBase):
    def finish_execution(self, state: StateType) -> None:
        ex = self.ex
        if state in (StateType.SUCCESS, StateType.WARNING) and self.flow.outputs:
            context = base_context(self.flow, ex, self.settings, self.now)
            try:
                ex.outputs = render_flow_outputs(self.flow.outputs, context)
            except (ExpressionError, ValueError) as error:
                self.log(None, "ERROR", f"Unable to render the flow outputs: {error}")
                state = StateType.FAILED
        if state is StateType.FAILED and ex.progress.retry_execution:
            state = self._retry_execution(state)
        for timer_id in list(ex.timers):
            self.cancel_timer(timer_id)
        ex.state.move(state, self.now)
        if self.phase_tasks(None, Phase.AFTER):
            self.start_phase(None, Phase.AFTER)
        else:
            ex.progress.phase = Phase.DONE

    def _retry_execution(self, state: StateType) -> StateType:
        """CREATE_NEW_EXECUTION: this execution is RETRIED and a new one starts later."""
        ex = self.ex
        policy = self.flow.retry
        for run in ex.task_run_list:
            task_policy = effective_retry(self.flow, self.flow.task(run.task_id))
            if task_policy and task_policy.behavior == "CREATE_NEW_EXECUTION":
                policy = task_policy
                break
        attempt = int(ex.metadata.get("attemptNumber", 1))
        if policy is None or (policy.max_attempt is not None and attempt >= policy.max_attempt):
            return state
        created = ex.metadata.get("originalCreatedDate")  # Kestra counts maxDuration from it
        first_start = parse_instant(str(created)) if created else self.now
        at = next_attempt_at(policy, attempt, first_start, self.now, ex.id)
        if at is None:
            return state
        original = ex.original_id or ex.id
        self.commands.append(cmd.StartExecution(
            execution_id=derived_id(f"{original}/attempt/{attempt + 1}"),
            namespace=ex.namespace, flow_id=ex.flow_id, flow_revision=ex.flow_revision,
            inputs=ex.inputs, labels=ex.labels, original_id=original,
            metadata={**ex.metadata, "attemptNumber": attempt + 1},
            schedule_date=at,
        ))
        return StateType.RETRIED
