"""Events the decider applies. Every event has an id and carries its own time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    id: str
    at: datetime
    execution_id: str


@dataclass(frozen=True)
class ExecutionRequested(Event):
    """Start an execution of a flow revision with already typed inputs."""

    namespace: str
    flow_id: str
    flow_revision: int
    tenant_id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    schedule_date: datetime | None = None
    parent_id: str | None = None
    original_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the flow-concurrency owner's answer: RUNNING, QUEUED, CANCELLED or FAILED; None when
    #: not asked (no limit, or the executor still has to ask the owner)
    admission: str | None = None


@dataclass(frozen=True)
class WorkerTaskResult(Event):
    """A worker's report on one attempt: RUNNING, then its final state."""

    task_run_id: str
    attempt: int
    state: str
    outputs: dict[str, Any] | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SubflowResult(Event):
    """A child execution (started by a Subflow task) reached a terminal state."""

    task_run_id: str
    attempt: int
    child_execution_id: str
    state: str
    #: the child's flow outputs and every task output (to render the task's `outputs`)
    outputs: dict[str, Any] | None = None
    task_outputs: dict[str, Any] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class TimerFired(Event):
    timer_id: str


@dataclass(frozen=True)
class Admit(Event):
    """A QUEUED execution may start: a running execution of its flow has ended."""


@dataclass(frozen=True)
class Kill(Event):
    pass


@dataclass(frozen=True)
class Restart(Event):
    """Run a FAILED or KILLED execution again from its failed task runs."""

    task_run_id: str | None = None


@dataclass(frozen=True)
class Replay(Event):
    """Run a finished execution again, as a new execution with the same inputs."""

    new_execution_id: str = ""
    #: replay from this task run (the task runs created before it are kept); None: all
    task_run_id: str | None = None


@dataclass(frozen=True)
class ExecutionSeeded(Event):
    """Start an execution from a copy of `source`, running `from_task_run_id` again."""

    source: Any = None
    from_task_run_id: str = ""


@dataclass(frozen=True)
class Resume(Event):
    """Resume a paused execution (every paused task run, or the one named)."""

    task_run_id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionRefused(Event):
    """A request that cannot start (its flow is unknown, its inputs are invalid): the
    execution is created directly FAILED, with `reason` in its logs. Applied locally by the
    executor; it never travels on Kafka. `decide` accepts `flow=None` for it."""

    request: ExecutionRequested | None = None
    reason: str = ""


@dataclass(frozen=True)
class Fault(Event):
    """Handling an event for this execution raised: the execution ends FAILED with
    `message` (a short traceback included) in its logs. Applied locally by the executor;
    it never travels on Kafka. `decide` accepts `flow=None` for it."""

    message: str = ""


__all__ = [
    "Admit", "Event", "ExecutionRefused", "ExecutionRequested", "ExecutionSeeded", "Fault",
    "Kill", "Replay", "Restart", "Resume", "SubflowResult", "TimerFired", "WorkerTaskResult",
]
