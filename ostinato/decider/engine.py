"""The decider: decide(flow, execution, event) -> (execution', commands).

Pure: no Kafka, no RocksDB, no clock (time arrives with the event). The execution is
updated in place — the caller hands it over — and only the task runs an event touches are
visited: a task run that ends tells its parent, which starts what comes next or ends in
turn. Counters in each flowable's progress replace any scan of the task-run list.
"""

from __future__ import annotations

import hashlib
from collections import deque
from datetime import datetime
from typing import Any

from ostinato.decider import commands as cmd
from ostinato.decider import control
from ostinato.decider import events as ev
from ostinato.decider import faults
from ostinato.decider.creation import created_execution
from ostinato.decider.decision import Decision
from ostinato.decider.context import Settings, base_context, task_context
from ostinato.decider.flowables import DagPlan, PauseFlowable, flowable_for
from ostinato.decider.outputs import render_flow_outputs, subflow_outputs
from ostinato.decider.plans import Identity, Plan, enabled
from ostinato.decider.retry import effective_retry, next_attempt_at
from ostinato.execution.model import FAILED_STATES, Attempt, Execution, State, TaskRun, Timer, iso
from ostinato.expressions import ExpressionError, is_truthy, render_value
from ostinato.flow.model import Flow
from ostinato.flow.tasks import Subflow, Task

_RANK = {"SUCCESS": 0, "SKIPPED": 0, "WARNING": 1, "CANCELLED": 2, "KILLED": 3, "FAILED": 4}
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def worse(a: str, b: str) -> str:
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def derived_id(seed: str) -> str:
    """A 22-character base62 id derived from `seed` (so a replay derives the same ids)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big")
    out = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(out)


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def decide(
    flow: Flow | None, execution: Execution | None, event: ev.Event, settings: Settings | None = None
) -> Decision:
    """Apply `event` to `execution` (None before it exists) and say what must happen next.

    An event that was already applied (a result for an attempt already final, a timer
    already fired, a second request for the same execution) changes nothing. `flow` may be
    None only for `ExecutionRefused` and `Fault` (the flow may be unknown or broken).
    """
    if isinstance(event, ev.ExecutionRefused):
        return faults.refuse(flow, execution, event)
    if isinstance(event, ev.Fault):
        return faults.fault(execution, event)
    if flow is None:
        raise ValueError(f"{type(event).__name__} needs the execution's flow")
    decider = Decider(flow, execution, event, settings or Settings())
    decider.apply()
    return Decision(decider.execution, decider.commands, list(decider.touched))


class Decider:
    """One application of one event. Public methods are what flowables call back."""

    def __init__(
        self, flow: Flow, execution: Execution | None, event: ev.Event, settings: Settings
    ) -> None:
        self.flow = flow
        self._execution = execution
        self.event = event
        self.settings = settings
        self.now: datetime = event.at
        self.commands: list[cmd.Command] = []
        self._ended: deque[TaskRun] = deque()
        #: task runs created or changed (a dict keeps the order they were first touched)
        self.touched: dict[str, None] = {}

    @property
    def execution(self) -> Execution | None:
        return self._execution

    @property
    def ex(self) -> Execution:
        assert self._execution is not None
        return self._execution

    # ------------------------------------------------------------------ events

    def apply(self) -> None:
        event = self.event
        if isinstance(event, ev.ExecutionRequested):
            self._on_requested(event)
            return
        if isinstance(event, ev.Restart):
            control.restart(self)
            self._drain()
            return
        if isinstance(event, ev.Replay):
            control.replay(self, event)
            return
        if isinstance(event, ev.ExecutionSeeded):
            if self._execution is None:
                self._execution = control.seed(self, event)
                if self._execution is not None:
                    control.start_seeded(self, self._execution, event.from_task_run_id)
                    self._drain()
            return
        if self._execution is None or self._execution.finished:
            return
        if isinstance(event, ev.WorkerTaskResult):
            self._on_worker_result(event)
        elif isinstance(event, ev.SubflowResult):
            self._on_subflow_result(event)
        elif isinstance(event, ev.TimerFired):
            self._on_timer(event)
        elif isinstance(event, ev.Kill):
            control.kill(self)
        elif isinstance(event, ev.Resume):
            self._on_resume(event)
        elif isinstance(event, ev.Admit) and self.ex.state.current == "QUEUED":
            self._start_execution()
        self._drain()

    def _on_requested(self, event: ev.ExecutionRequested) -> None:
        if self._execution is not None:
            return
        self._execution = created_execution(event, self.flow)
        if event.admission not in (None, "RUNNING"):
            self._refuse_or_queue(event.admission)
            return
        if event.schedule_date is not None and event.schedule_date > self.now:
            self.set_timer("schedule", event.schedule_date, None)
            return
        self._start_execution()
        self._drain()

    def _refuse_or_queue(self, admission: str) -> None:
        """Past the flow's concurrency limit: wait QUEUED, or end CANCELLED or FAILED."""
        ex = self.ex
        ex.state.move(admission, self.now)
        if admission != "QUEUED":
            limit = self.flow.concurrency.limit if self.flow.concurrency else 0
            self.log(None, "WARN" if admission == "CANCELLED" else "ERROR",
                     f"Flow `{self.flow.uid}` is at its concurrency limit of {limit}: "
                     f"execution {admission.lower()}")
            ex.progress["phase"] = "done"

    def _start_execution(self) -> None:
        self.ex.state.move("RUNNING", self.now)
        self.start_phase(None, "tasks")

    def _on_worker_result(self, event: ev.WorkerTaskResult) -> None:
        run = self._current_attempt_run(event.task_run_id, event.attempt)
        if run is None:
            return
        attempt = run.attempts[-1]
        if event.state == "RUNNING":
            attempt.state.move("RUNNING", self.now)
            run.state.move("RUNNING", self.now)
            return
        attempt.state.move(event.state, self.now)
        attempt.metrics = list(event.metrics)
        for line in event.logs:
            if line.get("level") == "ERROR":
                self.ex.error_logs.append(
                    {"taskId": run.task_id, "taskRunId": run.id, "message": line.get("message")}
                )
        if event.outputs is not None:
            run.outputs = event.outputs
        self._attempt_ended(run, event.state)

    def _on_subflow_result(self, event: ev.SubflowResult) -> None:
        run = self._current_attempt_run(event.task_run_id, event.attempt)
        if run is None:
            return
        task = self.flow.task(run.task_id)
        assert isinstance(task, Subflow)
        state = event.state
        if state in FAILED_STATES:
            state = "FAILED" if task.transmit_failed else "SUCCESS"
        outputs: dict[str, Any] = {"executionId": event.child_execution_id, "state": event.state}
        if task.outputs:
            context = base_context(self.flow, self.ex, self.settings, self.now)
            context["outputs"] = event.task_outputs
            try:
                outputs["outputs"] = subflow_outputs(task, context)
            except ExpressionError as error:
                self.log(run, "ERROR", f"Unable to render the outputs of `{task.id}`: {error}")
                state = "FAILED"
        if event.message:
            self.log(run, "ERROR" if state == "FAILED" else "INFO", event.message)
        run.outputs = outputs
        run.attempts[-1].state.move(state, self.now)
        self._attempt_ended(run, state)

    def _current_attempt_run(self, task_run_id: str, attempt: int) -> TaskRun | None:
        """The task run if `attempt` is its current, unfinished attempt; else None."""
        run = self.ex.find(task_run_id)
        if run is None or run.state.terminal or attempt != len(run.attempts):
            return None
        if run.attempts[-1].state.terminal:
            return None
        self.touched[run.id] = None
        return run

    def _attempt_ended(self, run: TaskRun, state: str) -> None:
        task = self.flow.task(run.task_id)
        if state == "FAILED" and self._retry(run, task):
            return
        policy = effective_retry(self.flow, task)
        if state == "SUCCESS" and len(run.attempts) > 1 and policy and policy.warning_on_retry:
            state = "WARNING"
        self.end_run(run, state)

    def _retry(self, run: TaskRun, task: Task) -> bool:
        policy = effective_retry(self.flow, task)
        if policy is None:
            return False
        if policy.behavior == "CREATE_NEW_EXECUTION":
            self.ex.progress["retryExecution"] = True
            return False
        first_start = parse_instant(run.attempts[0].state.histories[0].date)
        seed = f"{run.id}/{len(run.attempts)}"
        at = next_attempt_at(policy, len(run.attempts), first_start, self.now, seed)
        if at is None:
            return False
        run.state.move("RETRYING", self.now)
        self.set_timer("retry", at, run)
        return True

    def _on_timer(self, event: ev.TimerFired) -> None:
        timer = self.ex.timers.pop(event.timer_id, None)
        if timer is None:
            return
        if timer.kind == "schedule":
            self._start_execution()
            return
        run = self.ex.run(timer.task_run_id or "")
        if run.state.terminal:
            return
        self.touched[run.id] = None
        task = self.flow.task(run.task_id)
        if timer.kind == "retry":
            run.state.move("RUNNING", self.now)
            self.dispatch(run, task)
        else:
            flowable = flowable_for(task)
            assert isinstance(flowable, PauseFlowable)
            flowable.on_timer(self, run, task, timer.kind)

    def _on_resume(self, event: ev.Resume) -> None:
        if event.task_run_id is not None:
            run = self.ex.find(event.task_run_id)
            targets = [run] if run is not None else []
        else:
            targets = [self.ex.run(i) for i in self.ex.progress.get("pausedRuns", [])]
        for run in targets:
            if run.state.current == "PAUSED":
                self.touched[run.id] = None
                self.resume_run(run, event.inputs)

    # ------------------------------------------------------------------ phases

    def progress_of(self, node: TaskRun | None) -> dict[str, Any]:
        return self.ex.progress if node is None else node.progress

    def _phase_tasks(self, node: TaskRun | None, phase: str) -> list[Task]:
        if node is None:
            flow = self.flow
            lists = {"tasks": flow.tasks, "errors": flow.errors, "finally": flow.finally_,
                     "after": flow.after_execution}
            return enabled(lists[phase])
        task = self.flow.task(node.task_id)
        return enabled(getattr(task, "errors" if phase == "errors" else "finally_", []))

    def _plan(self, node: TaskRun | None, phase: str) -> Plan:
        if node is not None and phase == "tasks":
            task = self.flow.task(node.task_id)
            return flowable_for(task).plan(node, task)
        return Plan(self._phase_tasks(node, phase))

    def start_phase(self, node: TaskRun | None, phase: str) -> None:
        """Start the `tasks`, `errors`, `finally` (or, for the flow, `after`) children."""
        progress = self.progress_of(node)
        progress.update(phase=phase, running=0, nextLane=0, failed=False, worst="SUCCESS")
        plan = self._plan(node, phase)
        if isinstance(plan, DagPlan):
            progress.update(done=[], started=[])
        self._fill(node, plan, progress)
        if progress["running"] == 0:
            self._phase_done(node)

    def _identity(self, node: TaskRun | None) -> Identity:
        if node is None:
            return Identity(None, None, [])
        return Identity(node.value, node.iteration, node.each_values)

    def _fill(self, node: TaskRun | None, plan: Plan, progress: dict[str, Any]) -> None:
        """Start lanes while the plan's limit allows (nothing new once a child failed)."""
        if progress["failed"]:
            return
        if isinstance(plan, DagPlan):
            self._fill_dag(node, plan, progress)
            return
        limit = plan.limit() or plan.lanes()
        while progress["nextLane"] < plan.lanes() and progress["running"] < limit:
            lane = progress["nextLane"]
            progress["nextLane"] = lane + 1
            tasks = plan.tasks(lane)
            if tasks:
                identity = plan.identity(self._identity(node), lane)
                self._create_child(node, tasks[0], progress["phase"], lane, 0, identity)

    def _fill_dag(self, node: TaskRun | None, plan: DagPlan, progress: dict[str, Any]) -> None:
        limit = plan.limit() or plan.lanes()
        progressed = True
        while progressed:
            progressed = False
            for lane in plan.ready(set(progress["done"]), set(progress["started"])):
                if progress["running"] >= limit:
                    break
                progress["started"].append(lane)
                tasks = plan.tasks(lane)
                if tasks:
                    self._create_child(node, tasks[0], "tasks", lane, 0, self._identity(node))
                else:  # a disabled node counts as done at once
                    progress["done"].append(plan.task_id(lane))
                    progressed = True
        progress["nextLane"] = len(progress["started"])

    def _child_ended(self, node: TaskRun | None, child: TaskRun) -> None:
        if node is not None:
            self.touched[node.id] = None
        progress = self.progress_of(node)
        if progress.get("phase") != child.block:
            return
        progress["running"] -= 1
        state = child.state.current
        progress["worst"] = worse(progress["worst"], state)
        if state in FAILED_STATES:
            progress["failed"] = True
        plan = self._plan(node, child.block)
        if isinstance(plan, DagPlan):
            progress["done"].append(child.task_id)
        elif not progress["failed"]:
            tasks = plan.tasks(child.lane)
            if child.pos + 1 < len(tasks):
                identity = Identity(child.value, child.iteration, child.each_values)
                self._create_child(node, tasks[child.pos + 1], child.block, child.lane,
                                   child.pos + 1, identity)
        self._fill(node, plan, progress)
        if progress["running"] == 0 and (progress["failed"] or progress["nextLane"] >= plan.lanes()):
            self._phase_done(node)

    def _phase_done(self, node: TaskRun | None) -> None:
        progress = self.progress_of(node)
        phase = progress["phase"]
        if phase == "after":
            progress["phase"] = "done"
            return
        worst = progress["worst"]
        if phase == "tasks":
            progress["outcome"] = worst
            if progress["failed"] and self._phase_tasks(node, "errors"):
                self.start_phase(node, "errors")
                return
        elif phase == "finally":
            progress["outcome"] = worse(progress["outcome"], "FAILED" if progress["failed"] else "SUCCESS")
        if phase != "finally" and self._phase_tasks(node, "finally"):
            self.start_phase(node, "finally")
            return
        outcome = progress["outcome"]
        if node is None:
            self._finish_execution(outcome)
        else:
            task = self.flow.task(node.task_id)
            self.end_run(node, flowable_for(task).outcome(task, outcome))

    def _finish_execution(self, state: str) -> None:
        ex = self.ex
        if state in ("SUCCESS", "WARNING") and self.flow.outputs:
            context = base_context(self.flow, ex, self.settings, self.now)
            try:
                ex.outputs = render_flow_outputs(self.flow.outputs, context)
            except (ExpressionError, ValueError) as error:
                self.log(None, "ERROR", f"Unable to render the flow outputs: {error}")
                state = "FAILED"
        if state == "FAILED" and ex.progress.get("retryExecution"):
            state = self._retry_execution(state)
        for timer_id in list(ex.timers):
            self.cancel_timer(timer_id)
        ex.state.move(state, self.now)
        if self._phase_tasks(None, "after"):
            self.start_phase(None, "after")
        else:
            ex.progress["phase"] = "done"

    def _retry_execution(self, state: str) -> str:
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
        at = next_attempt_at(policy, attempt, self.now, self.now, ex.id) or self.now
        original = ex.original_id or ex.id
        self.commands.append(cmd.StartExecution(
            execution_id=derived_id(f"{original}/attempt/{attempt + 1}"),
            namespace=ex.namespace, flow_id=ex.flow_id, flow_revision=ex.flow_revision,
            inputs=ex.inputs, labels=ex.labels, original_id=original,
            metadata={**ex.metadata, "attemptNumber": attempt + 1},
            schedule_date=at,
        ))
        return "RETRIED"

    # ------------------------------------------------------------------ task runs

    def _create_child(
        self, node: TaskRun | None, task: Task, block: str, lane: int, pos: int, identity: Identity
    ) -> None:
        ex = self.ex
        ex.sequence += 1
        run = ex.add(TaskRun(
            id=derived_id(f"{ex.id}/{ex.sequence}"),
            execution_id=ex.id, namespace=ex.namespace, flow_id=ex.flow_id, task_id=task.id,
            state=State.created(self.now),
            parent_task_run_id=None if node is None else node.id,
            value=identity.value, iteration=identity.iteration, each_values=identity.each_values,
            block=block, lane=lane, pos=pos,
        ))
        self.progress_of(node)["running"] += 1
        self.touched[run.id] = None
        self._start_run(run, task)

    def _start_run(self, run: TaskRun, task: Task) -> None:
        if task.run_if is not None:
            rendered = self.render_or_fail(run, task, str(task.run_if).lower()
                                           if isinstance(task.run_if, bool) else task.run_if)
            if rendered is None:
                return
            if not is_truthy(str(rendered)):
                run.state.move("SKIPPED", self.now)
                self._ended.append(run)
                return
        if task.flowable and not isinstance(task, Subflow):
            run.state.move("RUNNING", self.now)
            flowable_for(task).begin(self, run, task)
        else:
            self.dispatch(run, task)

    def dispatch(self, run: TaskRun, task: Task) -> None:
        """Start a new attempt: a worker task, or a child execution for a Subflow."""
        run.attempts.append(Attempt(State.created(self.now)))
        attempt = len(run.attempts)
        if not isinstance(task, Subflow):
            variables = task_context(self.flow, self.ex, run, task, self.settings, self.now)
            self.commands.append(cmd.RunTask(self.ex.id, run.id, attempt, task, variables))
            return
        self._start_subflow(run, task, attempt)

    def _start_subflow(self, run: TaskRun, task: Subflow, attempt: int) -> None:
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
        run.state.move("RUNNING", self.now)
        run.attempts[-1].state.move("RUNNING", self.now)
        child_id = derived_id(f"{ex.id}/{run.id}/{attempt}")
        run.progress["childExecutionId"] = child_id
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
            run.attempts[-1].state.move("SUCCESS", self.now)
            self.end_run(run, "SUCCESS")

    def end_run(self, run: TaskRun, state: str) -> None:
        """Give the task run its final state and tell its parent (after this event's work)."""
        task = self.flow.task(run.task_id)
        if state == "FAILED" and task.allow_failure:
            state = "WARNING"
        if state == "WARNING" and task.allow_warning:
            state = "SUCCESS"
        run.state.move(state, self.now)
        self.touched[run.id] = None
        for timer_id in [t.id for t in self.ex.timers.values() if t.task_run_id == run.id]:
            self.cancel_timer(timer_id)
        self._record_outputs(run)
        self._ended.append(run)

    def fail_run(self, run: TaskRun, message: str) -> None:
        """End a task run FAILED with an ERROR log line saying why."""
        self.log(run, "ERROR", message)
        if run.state.current == "PAUSED":
            self._forget_paused(run)
        self.end_run(run, "FAILED")

    def render_or_fail(self, run: TaskRun, task: Task, value: Any) -> Any:
        """Render `value` for `run`; on error the run fails and None is returned."""
        context = task_context(self.flow, self.ex, run, task, self.settings, self.now)
        try:
            return render_value(value, context)
        except ExpressionError as error:
            self.fail_run(run, str(error))
            return None

    def _record_outputs(self, run: TaskRun) -> None:
        self.ex.record_outputs(run)

    def _drain(self) -> None:
        while self._ended:
            run = self._ended.popleft()
            if self.ex.state.current in ("KILLING", "KILLED"):
                continue
            parent = None if run.parent_task_run_id is None else self.ex.run(run.parent_task_run_id)
            self._child_ended(parent, run)

    # ------------------------------------------------------------------ pause

    def pause_run(self, run: TaskRun) -> None:
        run.state.move("PAUSED", self.now)
        self.ex.progress.setdefault("pausedRuns", []).append(run.id)
        self.ex.state.move("PAUSED", self.now)

    def _forget_paused(self, run: TaskRun) -> None:
        paused = self.ex.progress.get("pausedRuns", [])
        if run.id in paused:
            paused.remove(run.id)
        if not paused and self.ex.state.current == "PAUSED":
            self.ex.state.move("RUNNING", self.now)

    def resume_run(self, run: TaskRun, inputs: dict[str, Any]) -> None:
        task = self.flow.task(run.task_id)
        for timer_id in [t.id for t in self.ex.timers.values() if t.task_run_id == run.id]:
            self.cancel_timer(timer_id)
        self._forget_paused(run)
        run.state.move("RUNNING", self.now)
        flowable = flowable_for(task)
        assert isinstance(flowable, PauseFlowable)
        outputs = flowable.resume_outputs(task, inputs)
        if outputs is not None:
            run.outputs = outputs
        self.start_phase(run, "tasks")

    def end_paused_run(self, run: TaskRun, state: str) -> None:
        self._forget_paused(run)
        self.end_run(run, state)

    # ------------------------------------------------------------------ timers and logs

    def set_timer(self, kind: str, at: datetime, run: TaskRun | None) -> None:
        ex = self.ex
        ex.sequence += 1
        timer = Timer(f"{kind}/{ex.sequence}", iso(at), kind, None if run is None else run.id)
        ex.timers[timer.id] = timer
        self.commands.append(cmd.SetTimer(ex.id, timer.id, at))

    def cancel_timer(self, timer_id: str) -> None:
        if self.ex.timers.pop(timer_id, None) is not None:
            self.commands.append(cmd.CancelTimer(self.ex.id, timer_id))

    def log(self, run: TaskRun | None, level: str, message: str) -> None:
        task_id = None if run is None else run.task_id
        run_id = None if run is None else run.id
        if level == "ERROR":
            self.ex.error_logs.append({"taskId": task_id, "taskRunId": run_id, "message": message})
        self.commands.append(cmd.EmitLog(self.ex.id, run_id, task_id, level, message, self.now))


__all__ = ["Decider", "Decision", "decide", "derived_id", "worse"]
