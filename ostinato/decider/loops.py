"""Loops: a flowable whose `tasks` ended may run them again (LoopUntil), waiting PAUSED
between iterations on a timer, or end in a state of its own (a maximum reached)."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.decider.flowables import Again, FlowableFailure, flowable_for
from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType
from ostinato.expressions import ExpressionError

#: the timer kind of a loop's next iteration
NEXT_ITERATION = "loop-next"


class Loops(DeciderBase):
    def repeat_tasks(self, node: TaskRun) -> StateType | bool:
        task = self.flow.task(node.task_id)
        try:
            answer = flowable_for(task).again(node, task, lambda v: self.render(node, task, v), self.now)
        except (ExpressionError, FlowableFailure) as error:
            self.log(node, "ERROR", str(error))
            return StateType.FAILED
        if answer is None:
            return False
        if isinstance(answer, Again):
            self.touched[node.id] = None
            self.ex.record_outputs(node)
            self.pause_run(node)
            self.set_timer(NEXT_ITERATION, self.now + answer.delay, node)
            return True
        if answer.warning:
            self.log(node, "WARN", answer.warning)
        return answer.state or False
