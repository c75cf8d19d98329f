"""Retry policies: which policy applies to a task run, and when its next attempt starts."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from ostinato.execution.model import TaskRun
from ostinato.execution.states import StateType
from ostinato.flow.durations import parse_duration
from ostinato.flow.model import Flow
from ostinato.flow.tasks import Retry, Task


def effective_retry(flow: Flow, task: Task) -> Retry | None:
    """The task's own retry, else the nearest enclosing flowable's, else the flow's."""
    if task.retry is not None:
        return task.retry
    parent_id = flow.parent_task_id(task.id)
    while parent_id is not None:
        parent = flow.task(parent_id)
        if parent.retry is not None:
            return parent.retry
        parent_id = flow.parent_task_id(parent_id)
    return flow.retry


def first_attempt_start(run: TaskRun) -> datetime:
    """When the run's first attempt started (a worker reported it RUNNING), from which
    Kestra counts a retry's `maxDuration`; its creation when it never ran."""
    histories = run.attempts[0].state.histories
    started = next((h for h in histories if h.state == StateType.RUNNING), histories[0])
    return _instant(started.date)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def retry_delay(policy: Retry, attempts_done: int, seed: str) -> timedelta:
    """The wait before attempt `attempts_done + 1`. Random delays are derived from `seed`."""
    if policy.type == "constant":
        return parse_duration(policy.interval or "PT0S")
    if policy.type == "exponential":
        base = parse_duration(policy.interval or "PT0S")
        factor = policy.delay_factor or 2.0
        cap = parse_duration(policy.max_interval or "PT0S")
        return min(base * (factor ** max(attempts_done - 1, 0)), cap)
    low = parse_duration(policy.min_interval or "PT0S")
    high = parse_duration(policy.max_interval or "PT0S")
    fraction = int(hashlib.sha1(seed.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return low + (high - low) * fraction


def next_attempt_at(
    policy: Retry, attempts_done: int, first_start: datetime, now: datetime, seed: str
) -> datetime | None:
    """When to start the next attempt, or None when the policy is spent: `maxAttempt`
    attempts done, or the next one would start more than `maxDuration` after `first_start`
    (the first attempt's start for a task run, the original creation for an execution)."""
    if policy.max_attempt is not None and attempts_done >= policy.max_attempt:
        return None
    at = now + retry_delay(policy, attempts_done, seed)
    if policy.max_duration is not None and at - first_start > parse_duration(policy.max_duration):
        return None
    return at
