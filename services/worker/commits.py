"""The worker's bookkeeping, kept apart from Kafka so that it is tested without a broker:
which offsets it may commit (`ContiguousOffsets`) and which task attempts it already took
(`RecentAttempts`)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque


class ContiguousOffsets:
    """The offsets started and done, per partition. Tasks end in any order, but a commit
    says "everything before this offset is done": only the prefix of started offsets that
    are all done is committable, so a task still running (or one that crashed) holds back
    its partition's commit and is read again after a restart."""

    def __init__(self) -> None:
        self._started: dict[int, deque[int]] = {}
        self._done: dict[int, set[int]] = {}

    def start(self, partition: int, offset: int) -> None:
        """`offset` of `partition` was taken (offsets of a partition are started in order)."""
        self._started.setdefault(partition, deque()).append(offset)

    def finish(self, partition: int, offset: int) -> None:
        """The task at `offset` ended and its result is confirmed."""
        self._done.setdefault(partition, set()).add(offset)

    def committable(self) -> dict[int, int]:
        """Partition -> the next offset to commit, for each partition whose oldest started
        offsets ended since the last call (each is answered once: the prefix is consumed)."""
        out: dict[int, int] = {}
        for partition, started in self._started.items():
            done = self._done.get(partition, set())
            last = None
            while started and started[0] in done:
                last = started.popleft()
                done.discard(last)
            if last is not None:
                out[partition] = last + 1
        return out

    def forget(self, partitions: set[int]) -> None:
        """Drop revoked partitions: their next owner reads from their last commit."""
        for partition in partitions:
            self._started.pop(partition, None)
            self._done.pop(partition, None)


class RecentAttempts:
    """The last task attempts this worker took, at most `size` of them. An executor killed
    after sending a task but before writing its changelog replays the event and sends the
    same attempt again (same task run id, same attempt number), and a partition taken back
    after a rebalance is read again from its last commit: the copy does not run. It waits
    for the first one's result instead, so that its offset is not committed while that one
    still runs."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._ended: OrderedDict[tuple[str, int], threading.Event] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, task_run_id: str, attempt: int) -> threading.Event | None:
        """None for the first copy (run it, then `end` it); for a later one, the event set
        when the first ends. Past `size` attempts, the oldest is forgotten."""
        key = (task_run_id, attempt)
        with self._lock:
            if key in self._ended:
                return self._ended[key]
            self._ended[key] = threading.Event()
            if len(self._ended) > self._size:
                self._ended.popitem(last=False)
            return None

    def end(self, task_run_id: str, attempt: int) -> None:
        """The first copy of this attempt ended: release the copies waiting on it."""
        with self._lock:
            ended = self._ended.get((task_run_id, attempt))
        if ended is not None:
            ended.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._ended)
