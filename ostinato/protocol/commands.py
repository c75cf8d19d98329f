"""Commands the decider asks the executor to carry out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ostinato.flow.tasks import Task


@dataclass(frozen=True)
class RunTask:
    """Send a runnable task run's attempt to a worker, with the variables it renders with."""

    execution_id: str
    task_run_id: str
    attempt: int
    task: Task
    variables: dict[str, Any]
    #: for a child of a WorkingDirectory: its group, as JSON text (the WorkingDirectory's
    #: task run id and setup: ostinato/tasks/working_directory.py WorkingGroup); else None
    working_directory: str | None = None


@dataclass(frozen=True)
class KillTask:
    execution_id: str
    task_run_id: str
    #: the attempt to stop (its number, as RunTask's): a worker reads kills a moment after
    #: they are written, and must not stop a later attempt (a restart) of the same run
    attempt: int | None = None


@dataclass(frozen=True)
class KillExecution:
    """Kill another execution (a running subflow child of a killed parent)."""

    execution_id: str


@dataclass(frozen=True)
class StartSubflow:
    """Start a child execution for a Subflow task run's attempt."""

    parent_execution_id: str
    task_run_id: str
    attempt: int
    execution_id: str
    namespace: str
    flow_id: str
    revision: int | None
    inputs: dict[str, Any]
    labels: dict[str, Any]
    trigger: dict[str, Any]
    wait: bool
    schedule_date: datetime | None = None


@dataclass(frozen=True)
class StartExecution:
    """Start a new execution (a retry of a whole execution, CREATE_NEW_EXECUTION)."""

    execution_id: str
    namespace: str
    flow_id: str
    flow_revision: int
    inputs: dict[str, Any]
    labels: dict[str, Any]
    original_id: str
    metadata: dict[str, Any]
    schedule_date: datetime | None = None


@dataclass(frozen=True)
class SeedExecution:
    """Start a new execution from a copy of `source` (a replay from a chosen task run)."""

    execution_id: str
    source: Any
    from_task_run_id: str


@dataclass(frozen=True)
class SetTimer:
    execution_id: str
    timer_id: str
    fire_at: datetime


@dataclass(frozen=True)
class CancelTimer:
    execution_id: str
    timer_id: str


@dataclass(frozen=True)
class EmitLog:
    """A log line the executor itself writes (a flowable's failure, a rendering error)."""

    execution_id: str
    task_run_id: str | None
    task_id: str | None
    level: str
    message: str
    at: datetime
    extra: dict[str, Any] = field(default_factory=dict)


Command = RunTask | KillTask | KillExecution | StartSubflow | StartExecution | SeedExecution | SetTimer | CancelTimer | EmitLog


__all__ = [
    "CancelTimer", "Command", "EmitLog", "KillExecution", "KillTask", "RunTask", "SeedExecution",
    "SetTimer", "StartExecution", "StartSubflow",
]
