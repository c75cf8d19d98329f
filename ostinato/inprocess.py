"""A deterministic in-process driver for the core: the decider plus inline workers.

This is a harness for unit tests and benchmarks of the pure core, not a stand-in for the
services: events go through a local queue, worker tasks run inline through
`ostinato.tasks.run_task`, and time is a virtual clock that jumps to the next timer when
nothing else is left to do (so a `PT1S` pause or retry costs no real second).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from ostinato.decider import Settings, decide
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.decider.concurrency import admission
from ostinato.execution.logs import LogEntry
from ostinato.execution.model import Execution
from ostinato.execution.states import StateType
from ostinato import interpret
from ostinato.flow.inputs import type_inputs as _type_inputs
from ostinato.flow.model import Flow
from ostinato.flow.parser import parse_flow
from ostinato.kv.access import KvClient, MemoryKv
from ostinato.storage import LocalStorage, input_file_uri_path
from ostinato.triggers.flow import flow_trigger_requests, listeners
from ostinato.tasks import RunContext
from ostinato.tasks.log_fetch import LOGS_SOURCE
from ostinato.tasks.working_directory import WorkingDirectories, run_worker_task


class FlowNotFound(LookupError):
    pass


class _DictStore:
    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self.data = data

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value


@dataclass
class LogRecord:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    level: str
    message: str


@dataclass
class InProcessRunner:
    """Runs flows to completion in one process with a virtual clock."""

    storage_dir: Path
    settings: Settings = field(default_factory=Settings)
    now: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=timezone.utc))
    #: called with every event applied, in order (to record a replayable log)
    on_event: Callable[[ev.Event], None] | None = None

    def __post_init__(self) -> None:
        self.flows: dict[tuple[str, str], Flow] = {}
        self.executions: dict[str, Execution] = {}
        self.logs: list[LogRecord] = []
        self.storage = LocalStorage(self.storage_dir)
        #: WorkingDirectory children share a directory here too (tasks/working_directory.py)
        self.working_directories = WorkingDirectories()
        #: the KV store of kv tasks and kv(), in memory and on the virtual clock
        self.kv = MemoryKv(lambda: self.now)
        self._queue: deque[ev.Event] = deque()
        #: worker tasks wait here until no event is pending, as on a real worker pool
        self._work: deque[cmd.RunTask] = deque()
        #: executions QUEUED by their flow's concurrency limit, oldest first, per flow
        self._queued: dict[tuple[str, str], deque[str]] = {}
        #: how many states of each execution Flow triggers have seen, and their windows
        self._states_seen: dict[str, int] = {}
        self.preconditions: dict[str, dict[str, Any]] = {}
        self._timers: list[tuple[datetime, int, str, str]] = []
        self._counter = itertools.count(1)

    # ---------------------------------------------------------------- flows and starts

    def deploy(self, source: str | Flow) -> Flow:
        flow = parse_flow(source) if isinstance(source, str) else source
        self.flows[(flow.namespace, flow.id)] = flow
        return flow

    def start(
        self,
        flow: Flow,
        inputs: Mapping[str, Any] | None = None,
        *,
        labels: Mapping[str, Any] | None = None,
        schedule_date: datetime | None = None,
        execution_id: str | None = None,
        trigger: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        original_id: str | None = None,
        type_inputs: bool = True,
    ) -> str:
        """Type the inputs (InputError if invalid) and queue the execution request.

        `type_inputs=False` passes them as given, unchecked (what Kestra's own tests do
        when they start an execution without inputs).
        """
        execution_id = execution_id or f"exec{next(self._counter)}"
        typed = dict(inputs or {})
        if type_inputs:
            typed = _type_inputs(
                flow.inputs, typed,
                store_file=lambda input_id, value: self._store_input(flow, execution_id, input_id, value),
            )
        self._queue.append(ev.ExecutionRequested(
            id=self._event_id(), at=self.now, execution_id=execution_id,
            namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1,
            inputs=typed, labels=dict(labels or {}), schedule_date=schedule_date,
            trigger=trigger, metadata=dict(metadata or {}), original_id=original_id,
        ))
        return execution_id

    def _store_input(self, flow: Flow, execution_id: str, input_id: str, value: Any) -> str:
        path = Path(str(value))
        data = path.read_bytes() if path.exists() else str(value).encode()
        uri_path = input_file_uri_path(flow.namespace, flow.id, execution_id, input_id, path.name)
        return self.storage.put(uri_path, data)

    def send(self, event_factory: Callable[[str, datetime], ev.Event]) -> None:
        """Queue an event built from a fresh id and the current time (kill, resume ...)."""
        self._queue.append(event_factory(self._event_id(), self.now))

    def run(self, flow: Flow, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> Execution:
        """Start an execution and run everything until it and its children are finished."""
        execution_id = self.start(flow, inputs, **kwargs)
        self.run_until_idle()
        return self.executions[execution_id]

    # ---------------------------------------------------------------- the loop

    def run_until_idle(self, *, until: Callable[[], bool] | None = None, max_events: int = 1_000_000) -> None:
        """Apply events; when none is left, jump the clock to the next timer; stop when idle.

        `until` stops the loop early (checked after each event), e.g. at a PAUSED state.
        """
        for _ in range(max_events):
            if until is not None and until():
                return
            if self._queue and self._timers and self._timers[0][0] < self._queue[0].at:
                self._fire_next_timer()  # virtual time: a timer due before the next event
            elif self._queue:
                self._apply(self._queue.popleft())
            elif self._work:
                self._run_worker_task(self._work.popleft())
            elif self._timers:
                self._fire_next_timer()
            else:
                return
        raise RuntimeError(f"still busy after {max_events} events")

    def _fire_next_timer(self) -> None:
        at, _, execution_id, timer_id = heapq.heappop(self._timers)
        self.now = max(self.now, at)
        self._apply(ev.TimerFired(self._event_id(), self.now, execution_id, timer_id))

    def _apply(self, event: ev.Event) -> None:
        execution = self.executions.get(event.execution_id)
        flow = self._flow_of(event, execution)
        if isinstance(event, ev.ExecutionRequested) and execution is None:
            event = self._admitted(flow, event)
        if self.on_event is not None:
            self.on_event(event)
        was_finished = execution is not None and execution.finished
        decision = decide(flow, execution, event, self.settings)
        if decision.execution is not None:
            self.executions[decision.execution.id] = decision.execution
        for effect in interpret.effects_of(decision, event, flow, was_finished=was_finished,
                                           new_id=self._event_id, revision_of=self._revision_of):
            self._carry_out(effect, flow)
        if decision.execution is not None:
            self._fire_flow_triggers(decision.execution)

    def _admitted(self, flow: Flow | None, event: ev.ExecutionRequested) -> ev.Event:
        """A request as the decider must see it: refused when its flow is unknown or its
        inputs do not type, else with the flow-concurrency owner's answer."""
        if flow is None:
            return interpret.unknown_flow(event)
        if flow.concurrency:
            event = self._admit(flow, event)
        return interpret.typed_request(event, flow)

    def _fire_flow_triggers(self, execution: Execution) -> None:
        """Flow triggers of every deployed flow see each new state of the execution."""
        seen = self._states_seen.get(execution.id, 0)
        count = len(execution.state.histories)
        if count == seen:
            return
        self._states_seen[execution.id] = count
        listening = listeners(self.flows.values())
        for index in range(seen, count):
            requests, _ = flow_trigger_requests(
                listening, execution, index, self.now, _DictStore(self.preconditions),
                lambda flow, inputs: _type_inputs(flow.inputs, inputs))
            for request in requests:
                if request.execution_id not in self.executions:
                    self._queue.append(request)

    def _running_count(self, flow: Flow) -> int:
        return sum(1 for e in self.executions_of(flow.namespace, flow.id)
                   if not e.finished and e.state.current is not StateType.QUEUED)

    def _admit(self, flow: Flow, event: ev.ExecutionRequested) -> ev.ExecutionRequested:
        """The flow-concurrency owner's decision, carried by the request."""
        answer = admission(flow.concurrency, self._running_count(flow))
        if answer is StateType.QUEUED:
            self._queued.setdefault((flow.namespace, flow.id), deque()).append(event.execution_id)
        return replace(event, admission=answer)

    def _release_queued(self, flow: Flow) -> None:
        waiting = self._queued.get((flow.namespace, flow.id))
        if waiting and admission(flow.concurrency, self._running_count(flow)) is StateType.RUNNING:
            execution_id = waiting.popleft()
            self._queue.append(ev.Admit(self._event_id(), self.now, execution_id))

    def _flow_of(self, event: ev.Event, execution: Execution | None) -> Flow | None:
        if isinstance(event, ev.ExecutionRequested):
            return self.flows.get((event.namespace, event.flow_id))
        if isinstance(event, ev.ExecutionSeeded) and execution is None:
            return self.flows[(event.source.namespace, event.source.flow_id)]
        assert execution is not None, f"no execution {event.execution_id}"
        return self.flows[(execution.namespace, execution.flow_id)]

    def _event_id(self) -> str:
        return f"event-{next(self._counter)}"

    # ---------------------------------------------------------------- commands

    def _carry_out(self, effect: interpret.Effect, flow: Flow | None) -> None:
        if isinstance(effect, interpret.ToWorker):
            self._work.append(effect.command)
        elif isinstance(effect, interpret.ArmTimer):
            timer = effect.command
            heapq.heappush(self._timers, (timer.fire_at, next(self._counter),
                                          timer.execution_id, timer.timer_id))
        elif isinstance(effect, interpret.Log):
            line = effect.command
            self.logs.append(LogRecord(line.execution_id, line.task_run_id, line.task_id,
                                       line.level, line.message))
        elif isinstance(effect, interpret.ToExecutor):
            self._queue.append(effect.event)
        elif isinstance(effect, interpret.AdmissionEnded) and flow is not None:
            self._release_queued(flow)
        # StopTask needs nothing here: inline worker tasks are never in flight.

    def _revision_of(self, command: cmd.StartSubflow, parent: Execution) -> int:
        if command.revision is not None:
            return command.revision
        flow = self.flows.get((command.namespace, command.flow_id))
        return (flow.revision or 1) if flow is not None else 1

    def _run_worker_task(self, command: cmd.RunTask) -> None:
        started = self.now
        self._queue.append(ev.WorkerTaskResult(
            self._event_id(), started, command.execution_id, command.task_run_id,
            command.attempt, StateType.RUNNING))
        context = RunContext(
            # read() of an internal-storage file, as the worker offers it (unscoped here)
            variables={**command.variables, "__read__": lambda uri: self.storage.get(uri).decode()},
            storage=self.storage, clock=lambda: self.now,
            sleep=self._sleep, log_level=command.task.log_level,
            kv=KvClient(self.kv, None, str((command.variables.get("flow") or {}).get("namespace", ""))),
            services={LOGS_SOURCE: self._log_entries},
        )
        outcome = run_worker_task(command.task, context, task_run_id=command.task_run_id,
                                  attempt=command.attempt, group=command.working_directory,
                                  directories=self.working_directories)
        for line in outcome.logs:
            self.logs.append(LogRecord(command.execution_id, command.task_run_id,
                                       command.task.id, line.level, line.message))
        self._queue.append(ev.WorkerTaskResult(
            self._event_id(), self.now, command.execution_id, command.task_run_id,
            command.attempt, outcome.state, outcome.outputs,
            [{"level": line.level, "message": line.message} for line in outcome.logs],
            outcome.metrics,
        ))

    def _log_entries(self, execution_id: str) -> list[LogEntry]:
        """The log lines of an execution, as log.Fetch reads them."""
        execution = self.executions.get(execution_id)
        if execution is None:
            return []
        return [LogEntry(execution.namespace, execution.flow_id, execution_id, line.level,
                         line.message, self.now, line.task_run_id, line.task_id)
                for line in self.logs_of(execution_id)]

    def _sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    # ---------------------------------------------------------------- queries

    def logs_of(self, execution_id: str) -> list[LogRecord]:
        return [line for line in self.logs if line.execution_id == execution_id]

    def executions_of(self, namespace: str, flow_id: str) -> list[Execution]:
        return [e for e in self.executions.values()
                if e.namespace == namespace and e.flow_id == flow_id]

