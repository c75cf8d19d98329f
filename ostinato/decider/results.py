"""Results of attempts: a worker's report, and what an ended attempt means for its task
run (a retry, a WARNING after retries, or its final state)."""

from __future__ import annotations

from datetime import datetime

from ostinato.decider.base import DeciderBase
from ostinato.decider.retry import effective_retry, first_attempt_start, next_attempt_at
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType, state_of, worse
from ostinato.flow.tasks import Task
from ostinato.flow.tasks_storage import WorkingDirectory
from ostinato.protocol import events as ev


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Results(DeciderBase):
    def on_worker_result(self, event: ev.WorkerTaskResult) -> None:
        run = self.current_attempt_run(event.task_run_id, event.attempt)
        if run is None:
            return
        attempt = run.attempts[-1]
        state = state_of(event.state)
        if state is StateType.RUNNING:
            attempt.state.move(StateType.RUNNING, self.now)
            run.state.move(StateType.RUNNING, self.now)
            return
        attempt.state.move(state, self.now)
        attempt.metrics = list(event.metrics)
        for line in event.logs:
            if line.get("level") == "ERROR":
                self.ex.error_logs.append(
                    {"taskId": run.task_id, "taskRunId": run.id, "message": line.get("message")}
                )
        if event.outputs is not None:
            run.outputs = event.outputs
        self.attempt_ended(run, state)

    def current_attempt_run(self, task_run_id: str, attempt: int) -> TaskRun | None:
        """The task run if `attempt` is its current, unfinished attempt; else None."""
        run = self.ex.find(task_run_id)
        if run is None or run.state.terminal or attempt != len(run.attempts):
            return None
        if run.attempts[-1].state.terminal:
            return None
        self.touched[run.id] = None
        return run

    def attempt_ended(self, run: TaskRun, state: StateType) -> None:
        """An attempt ended in `state`: retry the run, or end it."""
        task = self.flow.task(run.task_id)
        if isinstance(task, WorkingDirectory):  # its own last attempt (phases.py): no retry
            self.end_run(run, worse(run.progress.outcome or StateType.SUCCESS, state))
            return
        if state is StateType.FAILED and self._retry(run, task):
            return
        policy = effective_retry(self.flow, task)
        if (state is StateType.SUCCESS and len(run.attempts) > 1 and policy
                and policy.warning_on_retry):
            state = StateType.WARNING
        self.end_run(run, state)

    def _retry(self, run: TaskRun, task: Task) -> bool:
        policy = effective_retry(self.flow, task)
        if policy is None:
            return False
        if policy.behavior == "CREATE_NEW_EXECUTION":
            self.ex.progress.retry_execution = True
            return False
        first_start = first_attempt_start(run)
        seed = f"{run.id}/{len(run.attempts)}"
        at = next_attempt_at(policy, len(run.attempts), first_start, self.now, seed)
        if at is None:
            return False
        run.state.move(StateType.RETRYING, self.now)
        self.set_timer("retry", at, run)
        return True
