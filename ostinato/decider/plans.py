"""How a flowable lays out its children: lanes of tasks run in order, `limit` lanes at once.

Sequential is one lane; Parallel one lane per task; ForEach one lane per value. A plan is
rebuilt from the task definition and the run's progress whenever it is needed, so nothing
but small counters is stored, and no event scans the children. A plan answers Kestra's
`resolveNexts`: which lanes start now (`nexts`), which task follows a child that ended
(`after_child`), and whether the phase is over (`complete`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ostinato.execution.model import TaskRun
from ostinato.execution.progress import Progress
from ostinato.flow.tasks import Task


def enabled(tasks: Sequence[Task] | None) -> list[Task]:
    """Disabled tasks never get a task run."""
    return [t for t in tasks or () if not t.disabled]


def value_text(value: Any) -> str:
    """An iteration value as `taskrun.value` shows it (objects become JSON text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def java_text(value: Any) -> str:
    """Java's toString of a parsed JSON value, as Kestra's messages quote values."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(java_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


@dataclass(frozen=True)
class Identity:
    """The value, iteration and enclosing each-values a child task run gets."""

    value: str | None
    iteration: int | None
    each_values: list[str]


class Plan:
    """A single lane: the tasks run one after another (Sequential, errors, finally, ...)."""

    def __init__(self, tasks: list[Task]) -> None:
        self._tasks = tasks

    def lanes(self) -> int:
        return 1

    def limit(self) -> int:
        """How many lanes may run at once; 0 means no limit."""
        return 1

    def tasks(self, lane: int) -> list[Task]:
        return self._tasks

    def identity(self, parent: Identity, lane: int) -> Identity:
        return parent

    def enter(self, progress: Progress) -> None:
        """Prepare the progress of a phase that starts with this plan."""

    def nexts(self, progress: Progress) -> Iterable[int]:
        """The lanes to start now, in order, so that at most `limit` run (the caller starts
        the first task of each, so each lane started is one more running); they count as
        started at once. A range, not a generator: this is the hottest path of the
        decider, and a range costs the garbage collector nothing."""
        lanes = self.lanes()
        first = progress.next_lane
        room = (self.limit() or lanes) - progress.running
        if first >= lanes or room <= 0:
            return ()
        progress.next_lane = last = min(lanes, first + room)
        return range(first, last)

    def after_child(self, progress: Progress, child: TaskRun) -> Task | None:
        """The task that follows `child` in its lane (none once a child failed)."""
        if progress.failed:
            return None
        tasks = self.tasks(child.lane)
        return tasks[child.pos + 1] if child.pos + 1 < len(tasks) else None

    def complete(self, progress: Progress) -> bool:
        """Nothing runs and nothing is left to start (or a child failed)."""
        return progress.running == 0 and (progress.failed or progress.next_lane >= self.lanes())


class ParallelPlan(Plan):
    """One lane per task, `concurrent` lanes at once."""

    def __init__(self, tasks: list[Task], concurrent: int) -> None:
        super().__init__(tasks)
        self._concurrent = concurrent

    def lanes(self) -> int:
        return len(self._tasks)

    def limit(self) -> int:
        return self._concurrent

    def tasks(self, lane: int) -> list[Task]:
        return [self._tasks[lane]]


class EachPlan(Plan):
    """One lane per value; each lane runs the tasks in order (ForEach, EachSequential)."""

    def __init__(self, tasks: list[Task], values: list[Any], concurrency: int) -> None:
        super().__init__(tasks)
        self._values = values
        self._concurrency = concurrency

    def lanes(self) -> int:
        return len(self._values) if self._tasks else 0

    def limit(self) -> int:
        return self._concurrency

    def identity(self, parent: Identity, lane: int) -> Identity:
        text = value_text(self._values[lane])
        return Identity(text, lane, [*parent.each_values, text])


class EachCrossPlan(EachPlan):
    """Every (value, task) pair is its own lane (EachParallel)."""

    def lanes(self) -> int:
        return len(self._values) * len(self._tasks)

    def tasks(self, lane: int) -> list[Task]:
        return [self._tasks[lane % len(self._tasks)]]

    def identity(self, parent: Identity, lane: int) -> Identity:
        return super().identity(parent, lane // len(self._tasks))
