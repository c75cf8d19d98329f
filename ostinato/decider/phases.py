"""Phases: a flowable (or the flow) runs its `tasks`, then `errors` if one failed, then
`finally` (and the flow its `afterExecution`). Counters in the progress replace any scan
of the children; the plan says which lanes come next."""

from __future__ import annotations

from ostinato.decider.base import DeciderBase
from ostinato.decider.flowables import flowable_for
from ostinato.decider.plans import Identity, Plan, enabled
from ostinato.execution.model import TaskRun
from ostinato.execution.progress import Phase, Progress
from ostinato.execution.states import FAILED_STATES, StateType, worse
from ostinato.flow.tasks import Task


class Phases(DeciderBase):
    def phase_tasks(self, node: TaskRun | None, phase: Phase) -> list[Task]:
        """The enabled tasks of a phase's list (the flow's for None)."""
        if node is None:
            flow = self.flow
            lists = {Phase.TASKS: flow.tasks, Phase.ERRORS: flow.errors,
                     Phase.FINALLY: flow.finally_, Phase.AFTER: flow.after_execution}
            return enabled(lists[phase])
        task = self.flow.task(node.task_id)
        return enabled(getattr(task, "errors" if phase is Phase.ERRORS else "finally_", []))

    def _plan(self, node: TaskRun | None, phase: str) -> Plan:
        if node is not None and phase == Phase.TASKS:
            task = self.flow.task(node.task_id)
            return flowable_for(task).plan(node, task)
        return Plan(self.phase_tasks(node, Phase(phase)))

    def start_phase(self, node: TaskRun | None, phase: Phase) -> None:
        progress = self.progress_of(node)
        progress.enter(phase)
        plan = self._plan(node, phase)
        plan.enter(progress)
        self._fill(node, plan, progress)
        if progress.running == 0:
            self._phase_done(node)

    def _identity(self, node: TaskRun | None) -> Identity:
        if node is None:
            return Identity(None, None, [])
        return Identity(node.value, node.iteration, node.each_values)

    def _fill(self, node: TaskRun | None, plan: Plan, progress: Progress) -> None:
        """Start the lanes the plan says come next (nothing new once a child failed)."""
        if progress.failed:
            return
        phase = progress.phase
        assert phase is not None
        for lane in plan.nexts(progress):
            tasks = plan.tasks(lane)
            if tasks:
                identity = plan.identity(self._identity(node), lane)
                self.create_child(node, tasks[0], phase, lane, 0, identity)

    def child_ended(self, node: TaskRun | None, child: TaskRun) -> None:
        """`child` has its final state: count it, start what follows, end the phase when
        nothing is left."""
        if node is not None:
            self.touched[node.id] = None
        progress = self.progress_of(node)
        if progress.phase != child.block:
            return
        progress.running -= 1
        state = child.state.current
        progress.worst = worse(progress.worst, state)
        if state in FAILED_STATES:  # state.is_failed, without a call on the hot path
            progress.failed = True
        plan = self._plan(node, child.block)
        following = plan.after_child(progress, child)
        if following is not None:
            identity = Identity(child.value, child.iteration, child.each_values)
            self.create_child(node, following, child.block, child.lane, child.pos + 1, identity)
        self._fill(node, plan, progress)
        if plan.complete(progress):
            self._phase_done(node)

    def _phase_done(self, node: TaskRun | None) -> None:
        progress = self.progress_of(node)
        phase = progress.phase
        if phase is Phase.AFTER:
            progress.phase = Phase.DONE
            return
        if phase is Phase.TASKS:
            progress.outcome = progress.worst
            if node is not None and not progress.failed:
                again = self.repeat_tasks(node)  # a loop runs its tasks again (loops.py)
                if again is True:
                    return
                if again:
                    progress.outcome = again
            if progress.failed and self.phase_tasks(node, Phase.ERRORS):
                self.start_phase(node, Phase.ERRORS)
                return
        elif phase is Phase.FINALLY:
            own = StateType.FAILED if progress.failed else StateType.SUCCESS
            progress.outcome = worse(progress.outcome or StateType.SUCCESS, own)
        if phase is not Phase.FINALLY and self.phase_tasks(node, Phase.FINALLY):
            self.start_phase(node, Phase.FINALLY)
            return
        outcome = progress.outcome or StateType.SUCCESS
        if node is None:
            self.finish_execution(outcome)
        else:
            task = self.flow.task(node.task_id)
            flowable = flowable_for(task)
            if getattr(flowable, "ends_on_worker", False):  # WorkingDirectory: one last attempt
                progress.outcome = flowable.outcome(task, outcome)
                self.dispatch(node, task)
                return
            self.end_run(node, flowable.outcome(task, outcome))
