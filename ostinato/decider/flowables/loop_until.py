"""LoopUntil (and its old name WaitFor): the tasks run, then `condition` is rendered; while
it is falsy and no maximum is reached, the run waits PAUSED for `checkFrequency.interval`
and the tasks run again. `outputs.<id>.iterationCount` is 1 in the first iteration.

As Kestra's executor (`handleChildWorkerTaskResult`, LoopUntil): after an iteration whose
tasks all ended without failing, the maximums are checked first (`maxIterations` against
the iteration just done, `maxDuration` against the run's creation), then the condition;
a maximum reached ends the loop, FAILED when `failOnMaxReached`, else as its children
ended. The task runs of earlier iterations stay in the execution (Kestra drops them).
"""

from __future__ import annotations

from datetime import datetime

from ostinato.decider.flowables.base import Again, Flowable, Render, Stop, Wait
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType
from ostinato.expressions import is_truthy
from ostinato.flow.durations import parse_duration
from ostinato.flow.tasks import Task
from ostinato.flow.tasks_execution import LoopUntil

ITERATION_COUNT = "iterationCount"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _flag(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


class LoopUntilFlowable(Flowable):
    def begin(self, run: TaskRun, task: Task, render: Render) -> Wait | None:
        run.outputs = {ITERATION_COUNT: 1}
        return None

    def again(self, run: TaskRun, task: Task, render: Render, now: datetime) -> Again | Stop | None:
        assert isinstance(task, LoopUntil)
        count = int((run.outputs or {}).get(ITERATION_COUNT, 1))
        reached = self._reached(run, task, render, now, count)
        if reached is not None:
            failing = _flag(render(task.fail_on_max_reached))
            return Stop(StateType.FAILED if failing else None, reached)
        condition = task.condition
        if isinstance(condition, bool):
            condition = "true" if condition else "false"
        if is_truthy(str(render(condition))):
            return None
        run.outputs = {ITERATION_COUNT: count + 1}
        return Again(parse_duration(str(render(task.check_frequency.interval))))

    def _reached(self, run: TaskRun, task: LoopUntil, render: Render, now: datetime,
                 count: int) -> str | None:
        """Which maximum the iteration just done reached, as Kestra logs it (None: none)."""
        check = task.check_frequency
        if check.max_iterations is not None and count >= int(str(render(check.max_iterations))):
            return "Max iterations reached"
        if check.max_duration is not None:
            limit = parse_duration(str(render(check.max_duration)))
            if _instant(run.state.histories[0].date) + limit < now:
                return "Max duration reached"
        return None

    def on_timer(self, run: TaskRun, task: Task, kind: str) -> StateType | None:
        """The interval between two iterations has passed: the tasks run again."""
        if kind != "loop-next":
            return super().on_timer(run, task, kind)
        return None
