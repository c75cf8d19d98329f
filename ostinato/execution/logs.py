"""A log line of an execution, as the `logs` topic carries it (record: `ostinato.wire`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LogEntry:
    """A log line of an execution (topic `logs`)."""

    namespace: str
    flow_id: str
    execution_id: str
    level: str
    message: str
    timestamp: datetime
    task_run_id: str | None = None
    task_id: str | None = None
    attempt: int | None = None
    tenant_id: str | None = None
    thread: str | None = None
