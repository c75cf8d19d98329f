"""A running task's log lines, shipped to `logs` while it runs.

The runner appends lines to its `RunContext.logs`; a `LiveLogs` thread produces the new ones
every `interval` seconds, or as soon as `batch` lines wait, whichever comes first. When the
task ends, `finish` ships what is left of the outcome's lines (including those the runner
wrote after the last flush, and the worker's own final lines) and returns every line's
delivery, so the worker confirms them all before the task's offset is committed: a line is
never lost to a crash, at worst produced twice (the task then runs again anyway).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from ostinato.kafka.producer import Delivery
from ostinato.tasks.base import LogLine

#: how often a running task's new lines are produced (followers see them within this)
FLUSH_SECONDS = 0.2
#: a burst of this many lines is produced at once, without waiting for the interval
FLUSH_LINES = 100


class LiveLogs:
    """Ships the lines appended to `lines` through `send`; `added()` after each append,
    `finish(outcome_lines)` once the task has ended."""

    def __init__(self, lines: list[LogLine], send: Callable[[list[LogLine]], list[Delivery]], *,
                 interval: float = FLUSH_SECONDS, batch: int = FLUSH_LINES) -> None:
        self._lines = lines
        self._send = send
        self._interval = interval
        self._batch = batch
        self._shipped = 0
        self._shipped_ids: set[int] = set()
        self._deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="live-logs", daemon=True)

    @property
    def lines(self) -> list[LogLine]:
        """The list the runner appends to (its `RunContext.logs`)."""
        return self._lines

    def start(self) -> LiveLogs:
        self._thread.start()
        return self

    def added(self) -> None:
        """A line was appended: wake the shipper when a batch is waiting."""
        if len(self._lines) - self._shipped >= self._batch:
            self._wake.set()

    def finish(self, outcome_lines: Sequence[LogLine]) -> list[Delivery]:
        """Stop shipping, produce the outcome's lines not produced yet (in their order), and
        return the deliveries of every line of this task, to confirm."""
        self._done = True
        self._wake.set()
        self._thread.join()
        with self._lock:
            rest = [line for line in outcome_lines if id(line) not in self._shipped_ids]
            if rest:
                self._deliveries.extend(self._send(rest))
            return list(self._deliveries)

    def _run(self) -> None:
        while not self._done:
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._done:
                self._ship()

    def _ship(self) -> None:
        with self._lock:
            new = self._lines[self._shipped:]
            if not new:
                return
            self._shipped += len(new)
            # by identity: the outcome's lines are these same objects (a list copy)
            self._shipped_ids.update(id(line) for line in new)
            self._deliveries.extend(self._send(new))
